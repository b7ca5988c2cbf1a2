"""The share link's page and the guardians' alarm page: the walk page for someone without an
account, as the link's audience may see it (shares.walk_for_link decides).

Both live at the link's own address, `/api/share/<token>`: a browser (asking for HTML) gets the
page, an API client gets the JSON as before. A link that shows nothing any more (expired,
revoked, unknown: the same answer) shows only that: never a last position.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from sqlalchemy.engine import Connection
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from walkwithme import timewords
from walkwithme.api import seen as seen_api
from walkwithme.api.auth import services
from walkwithme.domain.errors import NotFound
from walkwithme.domain.walks import WalkState
from walkwithme.usecases import helping, shares, walks
from walkwithme.usecases.timeline import Audience, events_after, fixes_after
from walkwithme.views import shared_view
from walkwithme.web.render import pages_of
from walkwithme.web.session import signed_in
from walkwithme.web.walk_context import Seen, measure_left, streets_near_last, walk_context


def wants_html(scope: Scope) -> bool:
    """A browser navigating asks for text/html first; API clients ask for JSON or anything."""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"accept":
            return value.split(b",")[0].strip().startswith(b"text/html")
    return False


class HtmlRoute(APIRoute):
    """Matches only requests that want a page; the others go on to the API's route."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or not wants_html(scope):
            return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(include_in_schema=False, route_class=HtmlRoute)


def seen_through(conn: Connection, token: str, now: int, viewer: int | None) -> tuple[Seen, int]:
    """What the link shows, and the walk's id if the person signed in may act on its alarm
    (one of her companions, or during the alarm one of her guardians: the API's rule), else 0."""
    walk, seen_as = shares.walk_for_link(conn, token, now)
    until = walks.shown_until(walk, seen_as)
    seen = Seen(
        shared_view(conn, walk, seen_as),
        events_after(conn, walk.id, 0, seen_as, limit=1000),
        fixes_after(conn, walk.id, 0, limit=10_000, until_seq=until),
        walks.reach_walker(conn, walk, seen_as, through_link=True),
    )
    helper = viewer is not None and (
        walks.audience_of(conn, walk, viewer) is Audience.COMPANION
        or (walk.state is WalkState.ALARM and helping.is_guardian(conn, walk, viewer))
    )
    return seen, walk.id if helper else 0


@router.get("/api/share/{token}")
async def link_page(token: str, request: Request) -> Response:
    svc = services(request)
    now = svc.clock.now_ms()
    pages = pages_of(request)
    who = await signed_in(request)
    viewer = who[0].id if who else None
    try:
        seen, helper_of = await svc.db.read(lambda c: seen_through(c, token, now, viewer))
    except NotFound:
        # An alarm's link whose alarm is over says so, and how it ended: "expired" left a
        # guardian who opened an old alert first not knowing whether to go on looking. No
        # name, nor where: a link may be forwarded, and what it showed is over.
        over = await svc.db.read(lambda c: shares.alarm_over(c, token))
        said = None
        if over is not None:
            ago = timewords.ago(over.at, now)
            said = (
                f"It was ended {ago}, with the walker's own PIN."
                if over.by_walker
                else f"It was ended {ago} by someone following the walk, who found the walker safe."
            )
        return pages.render(request, "expired.html", status=404, over=said)
    await seen_api.through_link(svc, seen.view["id"], token)  # her list of who looked
    urls: dict[str, Any] = {
        "live": f"/api/share/{token}/live",
        "map": f"/api/share/{token}/map",
        "tiles": svc.config.tiles_url,
        **({"near_url": f"/api/share/{token}/near"} if svc.streets else {}),
    }
    # No account: times in the browser's own zone (tz None: the script's Intl default).
    left = await measure_left(seen, svc.streets)
    context = walk_context(
        seen,
        now=now,
        tz=None,
        can_act=bool(helper_of),
        urls=urls,
        left_m=left,
        near=streets_near_last(seen, svc.streets),
        me=viewer,
    )
    context["quick_replies"] = ()  # a link's page is for the alarm, not for talking
    # Her phone number is shown through a link only while the alarm lasts: walk.js takes it
    # away when the alarm ends, as a reload would.
    context["data"]["by_link"] = True
    return pages.render(
        request,
        "walk.html",
        person=who[0] if who else None,
        csrf=who[1] if who else "",
        action=f"/walks/{helper_of}",
        back=request.url.path,
        by_link=True,
        **context,
    )
