"""Demo and drill mode only (`walkwithme serve --drill`): the operator may jump the service's
clock forward, so that "the next evening" of a story or the hour after a crash takes no real
time. In a normal serve this door doesn't exist (404)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.inputs import Number
from walkwithme.domain.errors import NotFound
from walkwithme.usecases import accounts

# In the OpenAPI document only where the door exists (create_app includes it so in drill mode).
router = APIRouter(tags=["service"])

MAX_JUMP_MIN = 14 * 24 * 60


class Jump(BaseModel):
    minutes: Number = Field(gt=0, le=MAX_JUMP_MIN, description="how far forward")


@router.post("/api/clock/jump")
async def jump(body: Jump, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """Jump the service's clock forward (the operator; `serve --drill` only): `{"now"}`."""
    if svc.jumping_clock is None:
        raise NotFound("not found")
    accounts.require_operator(person)
    jump_ms = int(body.minutes * 60_000)
    svc.jumping_clock.jump(jump_ms)
    svc.watchdog.clock_jumped(jump_ms)
    return {"now": svc.clock.now_ms()}
