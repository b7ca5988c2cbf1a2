"""The page shown when a page can't load, and the service worker that keeps it.

A reload without a network (or with the service out of reach) showed the browser's own error:
on her walk, no SOS and no emergency number. The worker (`/sw.js`) now keeps `/offline` and
what it needs, and shows it in place of any page of ours that can't load. It keeps nothing
else: every other page may show a position, and a position is never kept on a phone.

`/offline` is the same for everyone and holds nothing of anyone: the walk it holds SOS for is
read in the browser, from what her walk page left there (static/offline.js).
"""

from __future__ import annotations

import hashlib

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from walkwithme.web.assets import Assets
from walkwithme.web.render import pages_of

PAGE = "/offline"
# What /offline loads, so that it opens without a network.
FILES = ("style.css", "offline.js", "sos.js", "app.js", "confirm.js", "typed.js", "icon-192.png")
NO_CACHE = {"cache-control": "no-cache"}


def worker(assets: Assets, emergency_number: str) -> bytes:
    """sw.js, told what to keep: a release's hashed files and the page. Its cache's name
    changes with them (and with the emergency number the page shows), and a worker that
    differs by a byte is a new one: a phone keeps the page of the release it is served by."""
    files = [assets.url(name) for name in FILES]
    version = hashlib.sha256(
        orjson.dumps([files, emergency_number]) + assets.content["sw.js"]
    ).hexdigest()[:12]
    keep = {"cache": f"wwm-offline-{version}", "page": PAGE, "files": files}
    return b"const OFFLINE = " + orjson.dumps(keep) + b";\n" + assets.content["sw.js"]


def router(assets: Assets, emergency_number: str) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    body = worker(assets, emergency_number)

    @routes.get("/sw.js")
    async def service_worker() -> Response:
        # At the root, so that it may open any of our pages; never cached for long, so a new
        # release's worker takes over.
        return Response(body, media_type="text/javascript", headers=NO_CACHE)

    @routes.get(PAGE)
    async def offline(request: Request) -> Response:
        return pages_of(request).render(request, "offline.html")

    return routes
