"""The page a check's alert links to: "Are you OK?", answered with her PIN from any browser.

A phone app like OwnTracks can't show the question, so the link in her notification matters.
The link is a capability for this one thing: it shows nothing of the walk, and it works only
while the walk is live. Dressed like the other pages (web/templates/answer.html); when no
question waits for her answer, it says so instead of asking again.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from walkwithme.api.auth import ServicesDep
from walkwithme.api.walks import with_pin
from walkwithme.domain.errors import DomainError, Forbidden, TooSoon
from walkwithme.domain.walks import WalkState
from walkwithme.store.writer import Tx
from walkwithme.usecases import judging, moments
from walkwithme.usecases.moments import Pin
from walkwithme.usecases.walk_record import Walk
from walkwithme.web.render import pages_of

router = APIRouter(include_in_schema=False)

ASK = "Enter your PIN to tell the people following your walk."


def _page(request: Request, status: int = 200, **shown: str | bool) -> HTMLResponse:
    return pages_of(request).render(request, "answer.html", status=status, **shown)


def _said(request: Request, message: str, status: int) -> HTMLResponse:
    return _page(request, status, message=message)


def _asked(walk: Walk) -> bool:
    """Whether a question (or an alarm she can end) waits for her answer, as her own devices
    are shown the walk (after her duress PIN, as her real PIN would have left it)."""
    return walk.walker_check_reason is not None or walk.walker_state is WalkState.ALARM


@router.get("/answer/{token}")
async def form(token: str, request: Request, svc: ServicesDep) -> HTMLResponse:
    try:
        walk = await svc.db.read(lambda c: judging.walk_for_answer(c, token))
    except DomainError as exc:
        return _said(request, exc.message, exc.status)
    if not _asked(walk):
        return _page(
            request,
            heading="Already answered",
            message="Nothing waits for your answer: the people following your walk know.",
        )
    return _page(request, form=True, message=ASK)


@router.post("/answer/{token}")
async def answer(token: str, request: Request, svc: ServicesDep) -> HTMLResponse:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    pin = fields.get("pin", [""])[0][:16]
    try:
        walk = await svc.db.read(lambda c: judging.walk_for_answer(c, token))

        def job(tx: Tx, which: Pin) -> str:
            return moments.ok(tx, walk.id, walk.walker_id, which)

        await with_pin(svc, walk.id, walk.walker_id, pin, "answer", job)
    except TooSoon as exc:
        page = _said(request, exc.message, exc.status)
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    except Forbidden as exc:
        if exc.field == "pin":
            return _page(request, 403, form=True, message="That PIN is not right. Try again.")
        return _said(request, exc.message, exc.status)
    except DomainError as exc:
        return _said(request, exc.message, exc.status)
    return _page(
        request,
        heading="Thank you",
        message="The people following your walk see that you are OK.",
    )
