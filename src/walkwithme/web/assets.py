"""Static files with a content hash in their URL: `/static/<hash>/<path>`.

A hashed URL never changes meaning, so browsers may keep it for a year; a new release has new
hashes. Our JavaScript modules import each other by relative name (`from "./live.js"`): those
imports are rewritten to the hashed URLs, so a module's hash covers the modules it imports and
a cached page never mixes two releases. Everything is read and hashed once, when the app is
built (the files ship in the package, and they are small).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from pathlib import Path

import orjson
from fastapi import APIRouter
from starlette.responses import Response

STATIC = Path(__file__).parent / "static"
_YEAR = "public, max-age=31536000, immutable"
THEME = "#146c2e"  # the installed app's bar: the pages' "safe" green
_TYPES = {".js": "text/javascript", ".css": "text/css", ".md": "text/plain", "": "text/plain"}
_IMPORT = re.compile(r'(from\s+)"\./([\w.-]+\.js)"')


class Assets:
    def __init__(self, root: Path = STATIC, prefix: str = "/static") -> None:
        self.root = root
        self.prefix = prefix
        names = [
            path.relative_to(root).as_posix() for path in sorted(root.rglob("*")) if path.is_file()
        ]
        self.content: dict[str, bytes] = {}
        self.hashes: dict[str, str] = {}
        for name in names:
            self._load(name, ())

    def _load(self, name: str, importing: tuple[str, ...]) -> str:
        """The file's hashed URL, its imports' rewritten first (a cycle is a bug: it raises)."""
        if name in self.hashes:
            return self.url(name)
        if name in importing:
            raise ValueError(f"modules import each other in a cycle: {importing}")
        data = (self.root / name).read_bytes()
        if name.endswith(".js") and "/" not in name:  # our own modules, not vendored code

            def hashed(match: re.Match[str]) -> str:
                return f'{match[1]}"{self._load(match[2], (*importing, name))}"'

            data = _IMPORT.sub(hashed, data.decode()).encode()
        self.content[name] = data
        self.hashes[name] = hashlib.sha256(data).hexdigest()[:12]
        return self.url(name)

    def url(self, name: str) -> str:
        """The hashed URL of a shipped file; a name that isn't shipped is a bug, so it raises."""
        return f"{self.prefix}/{self.hashes[name]}/{name}"

    def router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)

        @router.get(self.prefix + "/{digest}/{name:path}")
        async def static(digest: str, name: str) -> Response:
            # Only names in the table: nothing outside the folder can be asked for.
            if self.hashes.get(name) != digest:
                return Response("not found", status_code=404, media_type="text/plain")
            suffix = Path(name).suffix
            kind = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "text/plain"
            return Response(self.content[name], media_type=kind, headers={"cache-control": _YEAR})

        @router.get("/manifest.webmanifest")
        async def manifest() -> Response:
            # What a phone needs to install the pages as an app: its name, where it opens, its
            # icons (drawn within the safe zone, so a round mask keeps them whole).
            icons = [
                {"src": self.url(f"icon-{n}.png"), "sizes": f"{n}x{n}", "type": "image/png",
                 "purpose": "any maskable"}
                for n in (192, 512)
            ]  # fmt: skip
            body = {
                "name": "Walk With Me",
                "short_name": "Walk With Me",
                "description": "Walks you home: the people you trust follow, and the alarm is "
                "raised when something is wrong.",
                "start_url": "/",
                "scope": "/",
                "display": "standalone",
                "background_color": "#ffffff",
                "theme_color": THEME,
                "icons": icons,
            }
            return Response(
                orjson.dumps(body),
                media_type="application/manifest+json",
                headers={"cache-control": "no-cache"},
            )

        return router
