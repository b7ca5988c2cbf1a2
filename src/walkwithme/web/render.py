"""Jinja templates that extend one base, rendered with what every page needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from walkwithme.domain.errors import DomainError, TooSoon
from walkwithme.web import words
from walkwithme.web.assets import Assets

TEMPLATES = Path(__file__).parent / "templates"


class Pages:
    """The template environment, with the hashed static URLs and the words as filters."""

    def __init__(
        self, assets: Assets, *, emergency_number: str = "", clock_speed: float = 1.0
    ) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["static"] = assets.url
        # The operator's WWM_EMERGENCY_NUMBER: "Call 112" where someone may be in danger.
        self.env.globals["emergency_number"] = emergency_number
        # A drill's fast clock (serve --clock-speed): the pages count time as fast as it runs
        # (static/service_clock.js), or a countdown and her browser's fixes fall behind it.
        self.env.globals["clock_speed"] = clock_speed
        self.env.filters["metres"] = words.metres
        self.env.filters["at_most"] = words.at_most
        self.env.filters["reason"] = words.reason
        # Jinja's `capitalize` lowers the rest: "SOS pressed" would read "Sos pressed".
        self.env.filters["sentence"] = lambda text: text[:1].upper() + text[1:]

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        context.setdefault("person", None)
        context.setdefault("csrf", "")
        context.setdefault("status", status)
        html = self.env.get_template(template).render(request=request, **context)
        return HTMLResponse(html, status_code=status)

    def fragment(self, template: str, **context: Any) -> str:
        """A part of a page (a template that extends nothing), for a script to put in place."""
        return self.env.get_template(template).render(**context)


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def waits(page: Response, refusal: DomainError) -> Response:
    """A page that refuses for now (too many attempts, too busy) says when to try again in
    `Retry-After` too, as the API's answers do."""
    if isinstance(refusal, TooSoon):
        page.headers["Retry-After"] = str(refusal.retry_after_s)
    return page
