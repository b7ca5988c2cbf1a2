"""Deleting an account: afterwards no row of any table names or locates her; what she did in
others' walks happened, but says neither who nor her words; her contacts are told only that a
contact ended; and it is refused, saying why, during her own walk or alarm."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.people import HOME, PIN, START, Cast, Member, between
from walkwithme.store.schema import alerts, deliveries, metadata, throttles

NAME = "Zyxwandria"  # a name no other test data holds, to look for in every row
WHERE = (60.1654321, 24.9432109)
PASSWORD = "correct horse battery"


def everything(cast: Cast) -> str:
    """Every row of every table, as text."""
    with cast.services.db.read_engine.connect() as conn:
        return "\n".join(
            repr(tuple(row))
            for table in metadata.sorted_tables
            for row in conn.execute(sa.select(table))
        )


def person_columns(cast: Cast, person_id: int) -> list[str]:
    """Columns that point at a person and hold hers."""
    found = []
    with cast.services.db.read_engine.connect() as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                to_people = any(fk.column.table.name == "people" for fk in column.foreign_keys)
                if to_people and conn.execute(sa.select(column).where(column == person_id)).first():
                    found.append(f"{table.name}.{column.name}")
    return found


def counted_for(cast: Cast, who: Member, channel_id: int) -> list[str]:
    """The throttle's counts kept for `who` by her id or her channel's."""
    with cast.services.db.read_engine.connect() as conn:
        keys = [k for (k,) in conn.execute(sa.select(throttles.c.key))]
    return [k for k in keys if k.endswith((f":{who.id}", f"-channel:{channel_id}"))]


def delete(cast: Cast, who: Member, password: str = PASSWORD) -> Any:
    return cast.client.post("/api/me/delete", json={"password": password}, headers=who.auth)


def test_a_deleted_account_leaves_no_row_that_names_or_locates_her(cast: Cast) -> None:
    her = cast.person(NAME)
    noor, wren = cast.person("Noor"), cast.person("Wren")
    cast.link(her, noor)
    cast.link(wren, her)  # she follows Wren
    cast.channel(her)
    cast.channel(noor)
    phone = cast.device(her)
    cast.client.post(
        "/api/places",
        json={"name": "Her secret", "lat": WHERE[0], "lon": WHERE[1]},
        headers=her.auth,
    ).raise_for_status()
    cast.offer(noor, her)
    walk = cast.start_walk(her)
    cast.send(phone, cast.fix(START))
    cast.send(phone, cast.fix(WHERE))
    cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth)  # a look
    cast.client.post(f"/api/walks/{walk['id']}/shares", json={}, headers=her.auth)
    cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=her.auth)
    # In Wren's walk she writes, and is on it when Wren presses SOS, until Wren is OK (while
    # it is on, she can't go: the test below).
    wrens = cast.start_walk(wren)
    cast.client.post(
        f"/api/walks/{wrens['id']}/messages", json={"text": "Zyx says hi"}, headers=her.auth
    ).raise_for_status()
    cast.client.post(f"/api/walks/{wrens['id']}/sos", headers=wren.auth).raise_for_status()
    cast.client.post(f"/api/walks/{wrens['id']}/ack", headers=her.auth).raise_for_status()
    ok = {"pin": PIN}
    cast.client.post(f"/api/walks/{wrens['id']}/ok", json=ok, headers=wren.auth).raise_for_status()
    mine = cast.client.get("/api/channels", headers=her.auth).json()
    channel_id = mine[0]["id"]
    cast.client.post(f"/api/channels/{channel_id}/test", headers=her.auth).raise_for_status()
    before = everything(cast)
    assert counted_for(cast, her, channel_id) != []
    assert NAME in before
    assert "60.1654321" in before or "60.165432" in before

    assert delete(cast, her, "not my password").status_code == 403
    done = delete(cast, her)
    assert done.status_code == 200, done.text

    after = everything(cast)
    for trace in (NAME, her.email, "Zyx says hi", "Her secret", "60.1654321", "24.9432109"):
        assert trace not in after, trace
    assert person_columns(cast, her.id) == []
    # Nothing counts what she did either: her messages, her channel's tests.
    assert counted_for(cast, her, channel_id) == []
    # Wren's walk keeps what happened, without her.
    timeline = cast.events(wren, wrens)
    acked = next(e for e in timeline if e["kind"] == "alarm_acknowledged")
    assert acked["by"]["name"] == "a former contact"
    said = next(e for e in timeline if e["kind"] == "message")
    assert said["text"] == "(removed)"
    # Noor is told a contact ended, and no more.
    with cast.services.db.read_engine.connect() as conn:
        told = conn.execute(
            sa.select(alerts.c.payload)
            .join(deliveries, deliveries.c.alert_id == alerts.c.id)
            .where(deliveries.c.person_id == noor.id, alerts.c.kind == "contact_ended")
        ).all()
    assert len(told) == 1
    assert set(told[0].payload) == {"kind", "key"}
    # She can't sign in: there is nobody.
    gone = cast.client.post("/api/session", json={"email": her.email, "password": PASSWORD})
    assert gone.status_code == 401
    assert cast.client.get("/api/me", headers=her.auth).status_code == 401


def test_no_deletion_during_her_walk_or_her_alarm_and_it_says_why(cast: Cast) -> None:
    mira, _noor, phone, walk = cast.walking()
    during = delete(cast, mira)
    assert during.status_code == 409
    assert "during a walk" in during.json()["error"]
    cast.send(phone, cast.fix(between(START, HOME, 0.1)))
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).raise_for_status()
    alarmed = delete(cast, mira)
    assert alarmed.status_code == 409
    assert "during an alarm" in alarmed.json()["error"]
    assert cast.client.get("/api/me", headers=mira.auth).status_code == 200  # nothing changed


def test_a_walk_after_an_account_is_deleted_never_takes_a_deleted_walks_number(
    cast: Cast,
) -> None:
    """A webhook receiver keeps alerts by walk number: SQLite gave the next walk the number of
    the last one deleted, so someone else's walk joined the deleted walker's records."""
    her, noor = cast.person(NAME), cast.person("Noor")
    cast.link(her, noor)
    cast.link(noor, her)
    cast.channel(noor)
    hers = cast.start_walk(her)
    cast.client.post(f"/api/walks/{hers['id']}/inside", json={"pin": PIN}, headers=her.auth)
    delete(cast, her).raise_for_status()
    wren = cast.person("Wren")
    cast.link(wren, noor)
    wrens = cast.start_walk(wren)
    assert wrens["id"] > hers["id"]


def test_someone_on_her_alarm_cant_delete_their_account_until_it_is_resolved(
    cast: Cast,
) -> None:
    """Noor says "I'm on it" to Mira's SOS, then deletes his account: her alarm went on held
    back for "a former contact", whom nobody could call or write to (an outside review).
    Refused, saying why, until the alarm is resolved; Olli, who said nothing, may go."""
    mira, noor, phone, walk = cast.walking()
    olli = cast.person("Olli")
    cast.link(mira, olli)
    url = f"/api/walks/{walk['id']}"
    cast.send(phone, cast.fix(between(START, HOME, 0.1)))
    cast.client.post(f"{url}/sos", headers=mira.auth).raise_for_status()
    cast.client.post(f"{url}/ack", headers=noor.auth).raise_for_status()
    refused = delete(cast, noor)
    assert refused.status_code == 409, refused.text
    assert "while you are on someone's alarm" in refused.json()["error"]
    assert cast.client.get("/api/me", headers=noor.auth).status_code == 200  # nothing changed
    on_it = [e["by"]["name"] for e in cast.events(mira, walk) if e["kind"] == "alarm_acknowledged"]
    assert on_it == ["Noor"]
    assert delete(cast, olli).status_code == 200
    resolved = cast.client.post(f"{url}/resolve", json={"note": "With her"}, headers=noor.auth)
    assert resolved.status_code == 200, resolved.text
    assert delete(cast, noor).status_code == 200
