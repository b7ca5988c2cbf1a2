"""Contacts: ask someone to follow you, answer a request, end a contact."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from walkwithme.api.auth import PersonDep, ServicesDep
from walkwithme.api.inputs import Line
from walkwithme.api.params import Id
from walkwithme.usecases import contacts

router = APIRouter(prefix="/api/contacts", tags=["contacts"])


class Ask(BaseModel):
    email: Line = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    role: str = Field(default="companion", description="companion or guardian")


# The one answer to every request for an address, whether it has an account or not, whether
# it was asked already or declined this week: which addresses have accounts is nobody's
# business. The asker learns who accepted from her contacts, once they accept.
SENT = {
    "status": "sent",
    "message": "the request was sent if the address has an account here; "
    "they appear in your contacts once they accept",
}


@router.get("")
async def list_contacts(person: PersonDep, svc: ServicesDep) -> list[dict[str, Any]]:
    return await svc.db.read(lambda c: contacts.list_contacts(c, person.id))


@router.post(
    "",
    status_code=202,
    responses={422: {"description": "not an email address, a role that doesn't exist, or you"}},
)
async def ask(body: Ask, person: PersonDep, svc: ServicesDep) -> dict[str, str]:
    """Ask someone to follow your walks (companion) or to hear of your alarms (guardian).
    Answered alike for every address (see SENT)."""
    await svc.writer.run(lambda tx: contacts.ask_alike(tx, person.id, body.email, body.role))
    return SENT


@router.post("/{contact_id}/accept")
async def accept(contact_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.writer.run(lambda tx: contacts.answer(tx, person.id, contact_id, accept=True))


@router.post("/{contact_id}/decline")
async def decline(contact_id: Id, person: PersonDep, svc: ServicesDep) -> dict[str, Any]:
    return await svc.writer.run(lambda tx: contacts.answer(tx, person.id, contact_id, accept=False))


@router.delete("/{contact_id}", status_code=204)
async def end(contact_id: Id, person: PersonDep, svc: ServicesDep) -> None:
    await svc.writer.run(lambda tx: contacts.end(tx, person.id, contact_id))
