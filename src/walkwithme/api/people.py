"""A person's own password, and the operator's hand on accounts: add, reset a password,
disable and enable (usecases/people.py)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from walkwithme.api.auth import COOKIE, PersonDep, ServicesDep, bearer, check_password
from walkwithme.api.inputs import Line, YesNo
from walkwithme.api.params import Id
from walkwithme.domain import people as rules
from walkwithme.domain.errors import Invalid
from walkwithme.hashing import Lane
from walkwithme.services import Services
from walkwithme.usecases import accounts, people

router = APIRouter(prefix="/api", tags=["accounts"])


class NewPassword(BaseModel):
    password: str = Field(max_length=200, description="your current password")
    new_password: str = Field(max_length=200, description="at least 10 characters")


class NewAccount(BaseModel):
    email: Line = Field(max_length=254)
    name: Line = Field(default="", max_length=100)
    timezone: str = Field(default="UTC", max_length=64, description="IANA, e.g. Europe/Helsinki")
    operator: YesNo = False


async def change_password(
    svc: Services, person: accounts.Person, current: str, new: str, keep: str | None
) -> int:
    """Her new password, once her current one is right; her other sessions end."""
    if len(new) < rules.MIN_PASSWORD_CHARS:
        raise Invalid(
            f"the new password must be at least {rules.MIN_PASSWORD_CHARS} characters",
            field="new_password",
        )
    await check_password(svc, person, current)
    hashed = await svc.hashing.hash(Lane.PASSWORDS, new)
    return await svc.writer.run(lambda tx: people.set_password(tx, person.id, hashed, keep=keep))


async def add_account(svc: Services, body: NewAccount) -> tuple[accounts.Person, str]:
    """A new account with a made-up password, to be handed to them once."""
    password = secrets.token_urlsafe(12)
    email, name, tz = accounts.check_new_person(
        body.email, body.name or body.email.split("@")[0], password, body.timezone
    )
    hashed = await svc.hashing.hash(Lane.PASSWORDS, password)
    new = accounts.NewPerson(email, name, hashed, tz, is_operator=body.operator)
    return await svc.writer.run(lambda tx: accounts.create_person(tx, new)), password


async def reset_password(svc: Services, person_id: int) -> str:
    """A made-up new password for someone who lost theirs; their sessions end."""
    password = secrets.token_urlsafe(12)
    hashed = await svc.hashing.hash(Lane.PASSWORDS, password)
    await svc.writer.run(lambda tx: people.set_password(tx, person_id, hashed))
    return password


async def disable(svc: Services, person_id: int, by: int | None) -> None:
    await svc.writer.run(lambda tx: people.disable(tx, person_id, by))


@router.put("/me/password")
async def put_password(
    body: NewPassword, request: Request, person: PersonDep, svc: ServicesDep
) -> dict[str, Any]:
    """Change your password, giving the current one. Your other sign-ins end (this one stays);
    your devices keep working."""
    keep = bearer(request) or request.cookies.get(COOKIE)
    ended = await change_password(svc, person, body.password, body.new_password, keep)
    return {"changed": True, "sessions_ended": ended}


@router.post("/people", status_code=201)
async def add_person(body: NewAccount, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """The operator adds an account; its password is made up and shown this once."""
    accounts.require_operator(person)
    added, password = await add_account(svc, body)
    return {**added.as_listed(), "password": password}


@router.post("/people/{person_id}/password")
async def reset(person_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """The operator resets someone's password: a new one, shown this once; their sign-ins
    end."""
    accounts.require_operator(person)
    return {"password": await reset_password(svc, person_id)}


@router.post("/people/{person_id}/disable")
async def disable_person(person_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    """They can't sign in; their sign-ins end and their devices stop working."""
    accounts.require_operator(person)
    await disable(svc, person_id, person.id)
    return {"id": person_id, "disabled": True}


@router.post("/people/{person_id}/enable")
async def enable_person(person_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    accounts.require_operator(person)
    await svc.writer.run(lambda tx: people.enable(tx, person_id))
    return {"id": person_id, "disabled": False}
