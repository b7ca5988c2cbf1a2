"""Web Push: the server's public VAPID key, which a browser needs to subscribe
(`pushManager.subscribe({applicationServerKey})`). Public: it is a public key."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from walkwithme.api.auth import ServicesDep

router = APIRouter(prefix="/api/push", tags=["channels"])


@router.get("/key")
async def public_key(svc: ServicesDep) -> dict[str, str]:
    """`{"public_key": "<base64url uncompressed P-256 point>"}`."""
    # The first call may make the key and write it to disk.
    key = await asyncio.to_thread(svc.push_keys.public_key)
    return {"public_key": key}
