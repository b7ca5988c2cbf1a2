"""Contacts: ask someone to follow you, answer a request, end a contact."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.params import Id
from walkwithme.usecases import contacts

router = APIRouter(prefix="/api/contacts", tags=["contacts"])


class Ask(BaseModel):
    email: str = Field(max_length=254)
    role: str = Field(default="companion", description="companion or guardian")


@router.get("")
async def list_contacts(person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    return await svc.db.read(lambda c: contacts.list_contacts(c, person.id))


@router.post("", status_code=201)
async def ask(body: Ask, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.writer.run(lambda tx: contacts.ask(tx, person.id, body.email, body.role))


@router.post("/{contact_id}/accept")
async def accept(contact_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.writer.run(lambda tx: contacts.answer(tx, person.id, contact_id, accept=True))


@router.post("/{contact_id}/decline")
async def decline(contact_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.writer.run(lambda tx: contacts.answer(tx, person.id, contact_id, accept=False))


@router.delete("/{contact_id}", status_code=204)
async def end(contact_id: Id, person: PersonDep, svc: ServicesDep) -> None:
    await svc.writer.run(lambda tx: contacts.end(tx, person.id, contact_id))
