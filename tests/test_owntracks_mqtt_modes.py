"""OwnTracks in MQTT mode: the Move mode commands on her phone's /cmd topic, against the real
Mosquitto broker (tests/test_owntracks_mqtt.py has the harness).

The broker hands one subscriber the messages published to one topic in the order they were
published (QoS 1), so once the phone has the command a later message made, it has every one
before it: what it has then is all the server sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.mqtt_world import Phone, eventually
from tests.people import HOME, START, between
from tests.test_owntracks_mqtt import location, mira_on_a_walk, serving
from walkwithme.clock import FakeClock
from walkwithme.usecases import devices


def monitoring(phone: Phone) -> list[int]:
    """The modes the server asked her phone for, in order."""
    return [
        c["configuration"]["monitoring"]
        for c in list(phone.commands)
        if c.get("action") == "setConfiguration"
    ]


def test_a_backlog_the_phone_sends_at_once_is_asked_for_move_mode_once(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    """Offline in Significant mode, her phone queued its locations; back online, it sends
    them all at once. Each asks for Move mode until one says it is in it: one command on its
    /cmd is enough, and 20 were 20 identical commands."""
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        bridge = cast.services.mqtt
        assert bridge is not None
        cast.clock.advance(minutes=10)
        for step in range(20):
            queued = location(cast, between(START, HOME, step / 40), m=1)
            queued["tst"] -= 600 - 30 * step
            phone.publish(queued, retain=False)
        eventually(lambda: bridge.taken == 20)
        # A minute later, still in Significant mode: asked again (remote configuration may
        # have been off, and she may have turned it on since).
        cast.clock.advance(seconds=61)
        phone.publish(location(cast, between(START, HOME, 0.6), m=1), retain=False)
        eventually(lambda: len(monitoring(phone)) >= 2)
        assert monitoring(phone) == [2, 2]
        track = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=noor.auth).json()
        assert len(track) == 21  # every location of the backlog is taken all the same


def test_after_her_duress_pin_her_phone_is_left_in_move_mode_until_it_is_resolved(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor = cast.person("Mira"), cast.person("Noor")
        cast.link(mira, noor)
        run = cast.services.writer.run_sync
        run(lambda tx: devices.add_device(tx, mira.id, "phone", world["topic"]))
        walk = cast.start_walk(mira, duress_pin="1357")
        bridge = cast.services.mqtt
        assert bridge is not None

        def publish(where: tuple[float, float], mode: int) -> None:
            taken = bridge.taken
            cast.clock.advance(seconds=70)  # past the once-a-minute of the same command
            phone.publish(location(cast, where, m=mode), retain=False)
            eventually(lambda: bridge.taken == taken + 1)

        publish(START, 1)
        eventually(lambda: monitoring(phone) == [2])
        publish(between(START, HOME, 0.1), 2)
        ended = cast.client.post(
            f"/api/walks/{walk['id']}/end", json={"pin": "1357"}, headers=mira.auth
        )
        assert ended.status_code == 200
        publish(between(START, HOME, 0.2), 2)  # was answered "back to Significant mode"
        publish(between(START, HOME, 0.3), 1)  # nor asked for Move mode: the walk is over
        seen: dict[str, Any] = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
        assert seen["state"] == "alarm"
        assert seen["last_position"]["lat"] == between(START, HOME, 0.3)[0]
        publish(between(START, HOME, 0.3), 2)
        # A marker through the server's own connection, behind whatever it sent the phone.
        bridge.publish(world["topic"] + "/cmd", b'{"_type": "marker"}')
        eventually(lambda: {"_type": "marker"} in phone.commands)
        assert monitoring(phone) == [2]  # nothing since Move mode, while they search for her
        resolved = cast.client.post(
            f"/api/walks/{walk['id']}/resolve", json={"note": "with her"}, headers=noor.auth
        )
        assert resolved.status_code == 200
        publish(HOME, 2)
        eventually(lambda: monitoring(phone) == [2, 1])  # the walk is over: its own mode back
