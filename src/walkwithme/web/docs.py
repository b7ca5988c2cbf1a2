"""`/docs`: the API's reference, browsable offline. Swagger UI is vendored into the package from
its pinned npm release, with its licence (scripts/vendor_swagger_ui.sh), and served like our
own static files: no CDN is asked for anything. (ReDoc, which loads from a CDN, is not served.)
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from walkwithme.web.render import pages_of

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def api_docs(request: Request) -> Response:
    return pages_of(request).render(request, "docs.html")
