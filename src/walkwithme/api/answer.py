"""The page a check's alert links to: "Are you OK?", answered with her PIN from any browser.

A phone app like OwnTracks can't show the question, so the link in her notification matters.
The link is a capability for this one thing: it shows nothing of the walk, and it works only
while the walk is live. (The pages release will dress it; this is the plain version.)
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from walkwithme.api.auth import ServicesDep
from walkwithme.api.walks import with_pin
from walkwithme.domain.errors import DomainError, Forbidden, TooSoon
from walkwithme.store.writer import Tx
from walkwithme.usecases import alarms, moments
from walkwithme.usecases.moments import Pin

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Walk With Me</title></head>
<body style="font-family: sans-serif; max-width: 30em; margin: 2em auto; padding: 0 1em">
{body}
</body></html>"""

_FORM = """<h1>Are you OK?</h1>
<p>{message}</p>
<form method="post">
<label>Your PIN <input name="pin" type="password" inputmode="numeric" autocomplete="off"
 pattern="[0-9]{{4,8}}" required autofocus></label>
<button type="submit">I'm OK</button>
</form>"""


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(body=body), status_code=status)


@router.get("/answer/{token}")
async def form(token: str, svc: ServicesDep) -> HTMLResponse:
    try:
        await svc.db.read(lambda c: alarms.walk_for_answer(c, token))
    except DomainError as exc:
        return _page(f"<p>{html.escape(exc.message)}</p>", exc.status)
    return _page(_FORM.format(message="Enter your PIN to tell the people following your walk."))


@router.post("/answer/{token}")
async def answer(token: str, request: Request, svc: ServicesDep) -> HTMLResponse:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    pin = fields.get("pin", [""])[0][:16]
    try:
        walk = await svc.db.read(lambda c: alarms.walk_for_answer(c, token))

        def job(tx: Tx, which: Pin) -> str:
            return moments.ok(tx, walk.id, walk.walker_id, which)

        await with_pin(svc, walk.id, walk.walker_id, pin, "answer", job)
    except TooSoon as exc:
        page = _page(f"<p>{html.escape(exc.message)}</p>", exc.status)
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    except Forbidden as exc:
        if exc.field == "pin":
            return _page(_FORM.format(message="That PIN is not right. Try again."), 403)
        return _page(f"<p>{html.escape(exc.message)}</p>", exc.status)
    except DomainError as exc:
        return _page(f"<p>{html.escape(exc.message)}</p>", exc.status)
    return _page("<h1>Thank you</h1><p>The people following your walk see that you are OK.</p>")
