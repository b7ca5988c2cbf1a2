"""The Alembic migrations build exactly the schema the code describes, on both databases."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from walkwithme.store.database import Database
from walkwithme.store.migrate import current_revision, script_head, upgrade
from walkwithme.store.schema import (
    contacts,
    events,
    metadata,
    share_links,
    walk_companions,
    walks,
)
from walkwithme.usecases import cover_channels


def test_the_migrated_schema_matches_the_tables_in_code(database: Database) -> None:
    with database.write_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migrating_twice_is_harmless(database: Database) -> None:
    before = current_revision(database.write_engine)
    upgrade(database.write_engine)
    head = script_head()
    assert head is not None  # the migrations make one chain
    assert current_revision(database.write_engine) == before == head


def test_what_she_was_shown_before_the_upgrade_is_what_she_is_shown_after(
    empty_db_url: str,
) -> None:
    """From 0013: Mira's share links keep their ids (and her walk counts on from them; the
    alarm's link takes no number); a walk her duress PIN ended for her devices keeps showing
    her the track and the last fix that had arrived by then."""
    engine = sa.create_engine(empty_db_url)
    upgrade(engine, "0013")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO people (id, email, name, password_hash, is_operator, timezone, "
                "pace_mps, created_at) VALUES (1, 'm@example.org', 'Mira', 'x', false, 'UTC', "
                "1.3, 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO devices (id, person_id, name, token_hash, created_at) "
                "VALUES (1, 1, 'phone', 'h', 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO walks (id, walker_id, state, pace_mps, pin_hash, timezone, "
                "started_at, expected_at, wrong_pins, fix_seq, cover_state, cover_ended_at, "
                "last_fix_at, last_battery_pct) VALUES (1, 1, 'alarm', 1.3, 'p', 'UTC', 0, "
                "900000, 0, 3, 'ended', 2000, 3000, 60)"
            )
        )
        for seq, (taken, received, battery) in enumerate(
            [(1000, 1000, 80), (1500, 2000, None), (3000, 3000, 60)], start=1
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO fixes (walk_id, device_id, taken_at, lat, lon, battery_pct, "
                    "received_at, seq) VALUES (1, 1, :taken, 60.1, 24.9, :battery, :received, "
                    ":seq)"
                ),
                {"taken": taken, "received": received, "battery": battery, "seq": seq},
            )
        for link_id, for_alarm in ((1, False), (2, True), (3, False)):
            conn.execute(
                sa.text(
                    "INSERT INTO share_links (id, walk_id, token_hash, created_at, for_alarm) "
                    "VALUES (:id, 1, :hash, 0, :alarm)"
                ),
                {"id": link_id, "hash": f"h{link_id}", "alarm": for_alarm},
            )
    upgrade(engine)
    with engine.connect() as conn:
        links = conn.execute(
            sa.select(share_links.c.id, share_links.c.number).order_by(share_links.c.id)
        ).all()
        walk = conn.execute(
            sa.select(walks.c.share_seq, walks.c.walker_fix_seq, walks.c.walker_last)
        ).one()
    engine.dispose()
    assert [tuple(link) for link in links] == [(1, 1), (2, None), (3, 3)]
    assert walk.share_seq == 3
    assert walk.walker_fix_seq == 2
    assert walk.walker_last["last_fix_at"] == 1500  # the newest fix that had arrived by then
    assert walk.walker_last["last_battery_pct"] is None  # as it was shown before


def test_contacts_that_stood_before_the_upgrade_stand_for_an_alarm_after_it(
    empty_db_url: str,
) -> None:
    """From 0041: an accepted contact is accepted from its last change, one someone ended was
    accepted once (from its creation, as good as before), a request never accepted never was."""
    engine = sa.create_engine(empty_db_url)
    upgrade(engine, "0041")
    with engine.begin() as conn:
        for person_id in (1, 2, 3, 4):
            conn.execute(
                sa.text(
                    "INSERT INTO people (id, email, name, password_hash, is_operator, timezone, "
                    "pace_mps, created_at) VALUES (:id, :email, 'P', 'x', false, 'UTC', 1.3, 0)"
                ),
                {"id": person_id, "email": f"p{person_id}@example.org"},
            )
        for contact_id, member, state, ended_by in (
            (1, 2, "accepted", None),
            (2, 3, "ended", 1),
            (3, 4, "ended", None),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO contacts (id, owner_id, member_id, role, state, created_at, "
                    "updated_at, ended_by) VALUES (:id, 1, :member, 'guardian', :state, 100, "
                    "500, :ended_by)"
                ),
                {"id": contact_id, "member": member, "state": state, "ended_by": ended_by},
            )
    upgrade(engine)
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(contacts.c.id, contacts.c.accepted_at).order_by(contacts.c.id)
        ).all()
    engine.dispose()
    assert [tuple(row) for row in found] == [(1, 500), (2, 100), (3, None)]


def test_a_cover_going_on_says_who_hears_after_the_upgrade_as_before(empty_db_url: str) -> None:
    """From 0045: Mira's cover did not count Otto (who set up alerts that worked since): her
    devices are told the same after the upgrade. It counted Noor, whose channel has failed
    since: not any more (a shadow only ever takes someone off). Pia, as she was, needs none."""
    engine = sa.create_engine(empty_db_url)
    upgrade(engine, "0045")
    with engine.begin() as conn:
        for person_id, name in ((1, "Mira"), (2, "Noor"), (3, "Otto"), (4, "Pia")):
            conn.execute(
                sa.text(
                    "INSERT INTO people (id, email, name, password_hash, is_operator, timezone, "
                    "pace_mps, created_at) VALUES (:id, :email, :name, 'x', false, 'UTC', 1.3, 0)"
                ),
                {"id": person_id, "email": f"{name}@example.org", "name": name},
            )
            if person_id > 1:
                conn.execute(
                    sa.text(
                        "INSERT INTO contacts (owner_id, member_id, role, state, created_at, "
                        "updated_at) VALUES (1, :id, 'companion', 'accepted', 0, 0)"
                    ),
                    {"id": person_id},
                )
        for channel_id, person_id, worked_at, failures in (
            (1, 2, 50, 7),
            (2, 3, 60, 0),
            (3, 4, 70, 0),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO channels (id, person_id, kind, label, target, created_at, "
                    "worked_at, failures) VALUES (:id, :person, 'webhook', 'x', 'https://x', 0, "
                    ":worked, :failures)"
                ),
                {"id": channel_id, "person": person_id, "worked": worked_at, "failures": failures},
            )
        conn.execute(
            sa.text(
                "INSERT INTO walks (id, walker_id, state, pace_mps, pin_hash, timezone, "
                "started_at, expected_at, wrong_pins, fix_seq, cover_state, cover_heard) "
                "VALUES (1, 1, 'alarm', 1.3, 'p', 'UTC', 0, 900000, 0, 0, 'ended', '[2, 4]')"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        hears = cover_channels.who_she_would_hear(conn, 1, [2, 3, 4])
        shadows = conn.execute(sa.text("SELECT channel_id FROM cover_channels")).scalars().all()
    engine.dispose()
    assert hears == {4}
    assert sorted(shadows) == [2]


def test_two_covers_of_one_walker_upgrade_to_one_shadow_a_channel(empty_db_url: str) -> None:
    """A walk after one her duress PIN ended (its silent alarm held open), and her duress PIN
    again: two covers, each with who would hear, that did not count Noor, whose channel works
    now. The upgrade took a shadow a channel from each, and failed on the second (a review of
    the change): her latest cover's is kept."""
    engine = sa.create_engine(empty_db_url)
    upgrade(engine, "0045")
    with engine.begin() as conn:
        for person_id, name in ((1, "Mira"), (2, "Noor")):
            conn.execute(
                sa.text(
                    "INSERT INTO people (id, email, name, password_hash, is_operator, timezone, "
                    "pace_mps, created_at) VALUES (:id, :email, :name, 'x', false, 'UTC', 1.3, 0)"
                ),
                {"id": person_id, "email": f"{name}@example.org", "name": name},
            )
        conn.execute(
            sa.text(
                "INSERT INTO contacts (owner_id, member_id, role, state, created_at, updated_at) "
                "VALUES (1, 2, 'companion', 'accepted', 0, 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO channels (id, person_id, kind, label, target, created_at, "
                "worked_at, failures) VALUES (1, 2, 'webhook', 'x', 'https://x', 0, 50, 0)"
            )
        )
        for walk_id, shown in ((1, "safe"), (2, "active")):
            conn.execute(
                sa.text(
                    "INSERT INTO walks (id, walker_id, state, pace_mps, pin_hash, timezone, "
                    "started_at, expected_at, wrong_pins, fix_seq, cover_state, cover_heard, "
                    "alarm_at) VALUES (:id, 1, 'alarm', 1.3, 'p', 'UTC', 0, 900000, 0, 0, "
                    ":shown, '[]', 5000)"
                ),
                {"id": walk_id, "shown": shown},
            )
    upgrade(engine)
    with engine.connect() as conn:
        hears = cover_channels.who_she_would_hear(conn, 1, [2])
        since = conn.execute(sa.text("SELECT cover_since FROM walks ORDER BY id")).scalars().all()
    engine.dispose()
    assert hears == set()
    assert since == [5000, 5000]  # (a cover going on began with its silent alarm)


def test_rebuilding_the_walks_table_keeps_their_timelines_and_versions(tmp_path: Path) -> None:
    """0048 rebuilds `walks` on SQLite: with foreign keys on, dropping the old table would
    have deleted every walk's track, timeline and companions by ON DELETE CASCADE."""
    engine = Database(f"sqlite:///{tmp_path / 'old.db'}").write_engine
    upgrade(engine, "0047")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO people (id, email, name, password_hash, is_operator, timezone, "
                "pace_mps, created_at) VALUES (1, 'm@example.org', 'Mira', 'x', false, 'UTC', "
                "1.3, 0), (2, 'n@example.org', 'Noor', 'x', false, 'UTC', 1.3, 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO walks (id, walker_id, state, pace_mps, pin_hash, timezone, "
                "started_at, expected_at, wrong_pins, fix_seq) "
                "VALUES (7, 1, 'active', 1.3, 'p', 'UTC', 0, 900000, 0, 1)"
            )
        )
        conn.execute(sa.text("INSERT INTO walk_companions (walk_id, person_id) VALUES (7, 2)"))
        conn.execute(
            sa.text(
                "INSERT INTO events (walk_id, at, kind, audience, data) "
                "VALUES (7, 10, 'started', 'all', '{}')"
            )
        )
    upgrade(engine)
    with engine.begin() as conn:
        kept = [
            conn.execute(sa.select(sa.func.count()).where(table.c.walk_id == 7)).scalar()
            for table in (walk_companions, events)
        ]
        version = conn.execute(sa.text("SELECT version FROM walks WHERE id = 7")).scalar_one()
        conn.execute(sa.text("UPDATE walks SET state = 'ended' WHERE id = 7"))
        moved = conn.execute(sa.text("SELECT version FROM walks WHERE id = 7")).scalar_one()
        conn.execute(sa.text("DELETE FROM walks WHERE id = 7"))
        conn.execute(
            sa.text(
                "INSERT INTO walks (walker_id, state, pace_mps, pin_hash, timezone, "
                "started_at, expected_at, wrong_pins, fix_seq) "
                "VALUES (2, 'active', 1.3, 'p', 'UTC', 0, 900000, 0, 0)"
            )
        )
        next_number = conn.execute(sa.text("SELECT max(id) FROM walks")).scalar_one()
    engine.dispose()
    assert kept == [1, 1]
    assert moved == version + 1  # the version trigger was made again
    assert next_number == 8
