"""She walks on toward her door after an alarm about her progress: everyone looking for her
is told, once (an outside replay: a four-minute stop at a shop alarmed her companion, who
then heard nothing for the eight minutes she walked home). The alarm goes on; only a person
ends it."""

from __future__ import annotations

import pytest

from tests.people import Cast
from tests.test_held_out_walks import BOTH_WAYS, Night, split, stood, walked, way_home
from walkwithme.notify.messages import render
from walkwithme.streets import StreetMap

pytestmark = pytest.mark.one_database


@pytest.mark.parametrize("streets", BOTH_WAYS)
def test_after_a_stall_alarm_her_companion_hears_she_walks_on(
    cast: Cast, helsinki: StreetMap, streets: bool
) -> None:
    night = Night(cast)
    line = way_home(helsinki)
    before, after = split(line, 500)
    fixes = walked(before, night.started)
    night.play(fixes)
    # She stands outside a shop: asked, no answer, the alarm.
    t = fixes[-1][0]
    while "alarm" not in night.kinds():
        night.play(stood(before[-1], t, 10))
        t += 10_000
    assert night.events()[-1]["reason"] == "no_answer"
    # She walks on: told once, with where she is and how far she has left.
    night.play(walked(after, t))
    onward = [e for e in night.events() if e["kind"] == "walking_on"]
    assert len(onward) == 1
    assert 0 < onward[0]["left_m"] < 1100
    [told] = night.cast.told(night.noor, "walking_on")
    title, body = render(told)
    assert title == "Mira is getting nearer again."
    assert "to go. The alarm goes on until someone ends it." in body
    assert "Last seen at" in body
    assert night.state() == "alarm"  # it goes on
    # Said again (or to her guardians, the hook), the alarm says so too: they were told of a
    # woman two minutes from her door as if nothing had changed (an outside review).
    night.look_until(night.cast.clock.now_ms() + 16 * 60_000)
    again = [render(a)[1] for a in night.cast.told(night.noor, "alarm") if a.get("again")]
    assert again, "said again at the top of the ladder"
    assert "Since then Mira has been getting nearer (" in again[-1]
    assert " to go)." in again[-1]


def test_after_her_sos_walking_on_is_not_said(cast: Cast, helsinki: StreetMap) -> None:
    """An SOS is her own call for help: her getting nearer her door says nothing of it."""
    night = Night(cast)
    line = way_home(helsinki)
    before, after = split(line, 300)
    fixes = walked(before, night.started)
    night.play(fixes)
    url = f"/api/walks/{night.walk['id']}/sos"
    assert night.cast.client.post(url, headers=night.mira.auth).status_code == 200
    night.play(walked(after, fixes[-1][0]))
    assert "walking_on" not in night.kinds()
