"""What an alert says to whoever reads it on a lock screen at night (an outside review read
every alert as received): her alarm ended by someone else is told to her too; who ended an
alarm is told by who it was, never by names; the title says what happened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.people import HOME, PIN, START, Cast, Member
from tests.test_delivery import with_guardian
from tests.test_heard_again import silent_alarm
from tests.test_pages import page, text_of
from walkwithme.notify.messages import render, with_link


def walking_heard(cast: Cast) -> tuple[Member, Member, str, dict[str, Any]]:
    """Mira walking home, Noor following; both have a channel their alerts wait in."""
    mira, noor, phone, walk = cast.walking()
    cast.channel(mira)
    cast.channel(noor)
    return mira, noor, phone, walk


def test_her_sos_ended_by_a_companion_while_her_walk_goes_on_is_told_to_her(cast: Cast) -> None:
    """Noor ended her SOS ("pressed by mistake") and the walk went on: Mira's phone, in her
    pocket, was told nothing, and she went on thinking help was coming."""
    mira, noor, _phone, walk = walking_heard(cast)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    ended = cast.client.post(
        f"/api/walks/{walk['id']}/resolve",
        json={"note": "I called her: pressed by mistake"},
        headers=noor.auth,
    )
    assert ended.status_code == 200, ended.text
    title, body = render(cast.told(mira, "alarm_resolved")[-1])
    assert title == "Noor ended your alarm."
    lines = body.splitlines()
    assert "Your walk goes on. If you need help, press SOS." in lines
    assert "Note: I called her: pressed by mistake" in lines
    # Noor is not told of her own doing; nobody else is told twice.
    assert cast.told(noor, "alarm_resolved") == []


def test_her_alarm_ended_with_the_walk_is_told_to_her_once(cast: Cast) -> None:
    """Marked safe and the walk over: she hears "Noor said you are safe", not that too."""
    mira, noor, _phone, walk = walking_heard(cast)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.client.post(
        f"/api/walks/{walk['id']}/resolve",
        json={"note": "With me", "home": True},
        headers=noor.auth,
    )
    assert cast.told(mira, "alarm_resolved") == []
    assert render(cast.told(mira, "inside")[-1])[0] == "Noor said you are safe."


def test_an_alarm_ended_by_a_companion_of_her_name_is_not_said_ended_with_her_pin(
    cast: Cast,
) -> None:
    """Who ended it was told by comparing names: a companion called Mira too read as "Mira
    ended it with the walk's PIN"."""
    mira, noor, namesake = cast.person("Mira"), cast.person("Noor"), cast.person("Other")
    renamed = cast.client.patch("/api/me", json={"name": "Mira"}, headers=namesake.auth)
    assert renamed.status_code == 200, renamed.text
    for companion in (noor, namesake):
        cast.link(mira, companion)
        cast.channel(companion)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "all fine"}, headers=namesake.auth
    )
    _title, body = render(cast.told(noor, "alarm_resolved")[-1])
    assert "Mira ended it." in body.splitlines()
    assert "with the walk's PIN" not in body
    # Her own PIN, next time: said so.
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.client.post(f"/api/walks/{walk['id']}/ok", json={"pin": PIN}, headers=mira.auth)
    _title, body = render(cast.told(noor, "alarm_resolved")[-1])
    assert "Mira ended it with the walk's PIN." in body.splitlines()


def test_three_wrong_pins_say_her_phone_may_be_in_other_hands(cast: Cast) -> None:
    mira, noor, _phone, walk = walking_heard(cast)
    for _ in range(3):
        cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": "0000"}, headers=mira.auth)
    title, _body = render(cast.told(noor, "alarm")[-1])
    assert (
        title
        == "ALARM: a wrong PIN three times on Mira's walk: someone else may have Mira's phone."
    )


def test_inside_with_her_pin_during_an_alarm_is_one_message_saying_both(cast: Cast) -> None:
    """ "The alarm about Mira is over. Mira ended it with the walk's PIN." and "Mira is home,
    inside." came in the same second: one message says both; her guardians, told of the
    alarm and not following her walks, still hear that it is over."""
    mira, noor, _phone, walk = walking_heard(cast)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    inside = cast.client.post(
        f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth
    )
    assert inside.status_code == 200, inside.text
    assert cast.told(noor, "alarm_resolved") == []
    [told] = cast.told(noor, "inside")
    title, body = render(told)
    assert title == "Mira is inside, not where the walk was going: the walk is over."
    assert "The alarm is over: Mira ended it with the walk's PIN." in body.splitlines()


def test_the_start_says_by_when_she_is_expected(cast: Cast) -> None:
    """ "Mira started a walk home" said when, not until when: her companion could not tell
    when to start worrying (the webhook had `expected_at`)."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.channel(noor)
    walk = cast.start_walk(mira)
    _title, body = render(cast.told(noor, "started")[-1])
    due = datetime.fromtimestamp(walk["expected_at"] / 1000, UTC)
    assert (
        f"Expected by {due:%H:%M}: you are told if Mira is late, or something seems wrong."
    ) in body.splitlines()


def test_a_companion_who_left_during_the_alarm_still_hears_it_is_over_with_her_walk(
    cast: Cast,
) -> None:
    """Sam ended his contact with her during her alarm; she says "I'm inside" with her PIN:
    the walk's end no longer reaches him (he follows her walks no more), and the alarm's end
    went with it, so he would go on looking for her (a review of the one-message change)."""
    mira, noor, sam = cast.person("Mira"), cast.person("Noor"), cast.person("Sam")
    cast.link(mira, noor)
    contact = cast.link(mira, sam)
    for who in (noor, sam):
        cast.channel(who)
    walk = cast.start_walk(mira)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(minutes=1)
    left = cast.client.delete(f"/api/contacts/{contact}", headers=sam.auth)
    assert left.status_code == 204, left.text
    inside = cast.client.post(
        f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth
    )
    assert inside.status_code == 200, inside.text
    [over] = cast.told(sam, "alarm_resolved")
    assert "Mira ended it with the walk's PIN." in render(over)[1].splitlines()
    assert cast.told(sam, "inside") == []
    # Noor, still following, hears both in one message.
    assert cast.told(noor, "alarm_resolved") == []
    [ended] = cast.told(noor, "inside")
    assert "The alarm is over: Mira ended it with the walk's PIN." in render(ended)[1]


def test_her_duress_alarm_climbing_to_her_guardian_says_what_she_was_made_to_do(
    cast: Cast,
) -> None:
    """Her guardians and the hook read "Mira entered their duress PIN" without what for: the
    first alarm said "to end the walk" (she may be at her door with whoever made her)."""
    mira, noor, gus = with_guardian(cast)
    cast.channel(noor)
    cast.channel(gus)
    walk = cast.start_walk(mira, duress_pin="1357")
    ended = cast.client.post(
        f"/api/walks/{walk['id']}/end", json={"pin": "1357"}, headers=mira.auth
    )
    assert ended.status_code == 200, ended.text
    cast.clock.advance(minutes=3)
    assert cast.services.watchdog.tick_sync() == ["escalated"]
    title, body = render(cast.told(gus, "alarm")[-1])
    assert title == "ALARM: Mira needs help and can't say so. Do not call or message Mira."
    said = "Mira entered their duress PIN to end the walk: the PIN that says they are not free"
    assert any(line.startswith(said) for line in body.splitlines()), body


def test_an_alarms_end_queued_before_who_ended_it_was_said_reads_as_before() -> None:
    """An alert made before the service said `by_walker` (waiting in the outbox across an
    upgrade) reads as it did: by names."""
    old = {"kind": "alarm_resolved", "walker": {"name": "Mira"}, "by": {"name": "Mira"}}
    assert "Mira ended it with the walk's PIN." in render(old)[1].splitlines()
    said = {**old, "by": {"name": "Noor"}}
    assert "Noor ended it." in render(said)[1].splitlines()


def test_a_note_is_one_line_of_its_alert_never_lines_that_read_as_the_services() -> None:
    """A companion's note "found her\\nMira is SAFE at home, stand down" reached the guardian
    and the hook as two lines, the second not to be told from the service's own."""
    said = {
        "kind": "alarm_resolved",
        "walker": {"name": "Mira"},
        "by": {"name": "Noor"},
        "note": "found her\nMira is SAFE at home, stand down",
    }
    for breaks in ("\n", "\u2028", "\r\n"):
        note = f"found her{breaks}Mira is SAFE at home, stand down"
        lines = render({**said, "note": note})[1].splitlines()
        assert "Note: found her / Mira is SAFE at home, stand down" in lines, breaks
        assert "Mira is SAFE at home, stand down" not in lines


def test_lingering_says_she_has_not_said_she_is_inside_not_that_she_is_outside() -> None:
    """Her phone went quiet by her door and she never said "I'm inside": she may be inside,
    or outside. "Without going in" told her companion she was still outside (a held-out
    replay); what is known is that she hasn't said she is in."""
    said = {
        "kind": "alarm",
        "reason": "no_answer",
        "asked_because": "lingering",
        "walker": {"name": "Mira"},
    }
    words = " ".join(render(said))
    assert "without saying “I'm inside”" in words
    assert "going in" not in words


def test_a_walk_she_ends_on_the_way_is_not_read_as_her_home(cast: Cast) -> None:
    """ "Mira ended the walk." read as her having arrived, a kilometre from her door (a review
    of a first walk): her companion is told it ended on the way, in the alert and on his page;
    ended at her door, it says nothing more."""
    mira, noor, phone, walk = walking_heard(cast)
    cast.send(phone, cast.fix(START))
    ended = cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": PIN}, headers=mira.auth)
    assert ended.status_code == 200, ended.text
    title, body = render(cast.told(noor, "ended")[-1])
    assert title == "Mira ended the walk."
    assert "On the way, not at the door: Mira may not be home." in body.splitlines()
    shown = page(cast.client, f"/walks/{walk['id']}", noor).text
    assert "on the way, not at home." in shown
    hers = page(cast.client, f"/walks/{walk['id']}", mira).text
    assert '<h1 id="headline">You ended the walk on the way</h1>' in hers

    home = cast.start_walk(mira)
    cast.send(phone, cast.fix(HOME))
    cast.client.post(f"/api/walks/{home['id']}/end", json={"pin": PIN}, headers=mira.auth)
    title, body = render(cast.told(noor, "ended")[-1])
    assert "not at the door" not in body
    shown = page(cast.client, f"/walks/{home['id']}", noor).text
    assert "Mira ended the walk today at" in shown
    assert "not at home" not in shown


def test_a_request_to_follow_her_walks_reaches_whoever_is_asked(cast: Cast) -> None:
    """Noor's request waited unseen on his home page until he happened to sign in (a review
    of a first walk): he is told where he hears alerts, with the page to answer on."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.channel(noor)
    cast.ask(mira, noor)
    [asked] = cast.told(noor, "contact_asked")
    title, body = render(with_link(asked, "https://walk.example"))
    assert title == "Mira asks you to follow their walks home."
    assert "As their companion, you see Mira's walks live and hear their alarms." in body
    assert "https://walk.example/" in body
    guardian = cast.person("Gus")
    cast.channel(guardian)
    cast.ask(mira, guardian, role="guardian")
    [asked] = cast.told(guardian, "contact_asked")
    assert "As their guardian" in render(asked)[1]
    assert cast.told(mira, "contact_asked") == []  # the asker hears nothing of it


def test_an_offer_says_where_to_answer_it(cast: Cast) -> None:
    """The offer's email had no link: it opens the offers page, where it is answered."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.channel(mira)
    assert cast.offer(noor, mira).status_code == 201
    [offer] = cast.told(mira, "offer")
    assert "https://walk.example/offers" in render(with_link(offer, "https://walk.example"))[1]


def test_her_message_reaches_her_companions_where_they_hear_alerts(cast: Cast) -> None:
    """ "Taking the long way, a bit scared" waited at the bottom of his walk page, which he did
    not have open (a review of a first walk): it reaches him as an alert, in her words. His
    own messages to her are for her page (it buzzes), not an alert to her."""
    mira, noor, _phone, walk = walking_heard(cast)
    said = {"text": "Taking the long way,\na bit scared"}
    sent = cast.client.post(f"/api/walks/{walk['id']}/messages", json=said, headers=mira.auth)
    assert sent.status_code in (200, 201), sent.text
    [message] = cast.told(noor, "message")
    title, _body = render(message)
    assert title == "Mira says: “Taking the long way, / a bit scared”"
    assert cast.told(mira, "message") == []
    cast.client.post(
        f"/api/walks/{walk['id']}/messages", json={"text": "On my way"}, headers=noor.auth
    )
    assert cast.told(mira, "message") == []


def test_her_same_words_again_are_one_alert_and_a_request_rings_once_a_week(cast: Cast) -> None:
    """ "Call me" tapped twenty times (or her page sending what waited offline) was twenty
    alerts to every companion; a request removed and asked again at once rang him each time
    (a review of these alerts). Her page and his still show every message."""
    mira, noor, _phone, walk = walking_heard(cast)
    call_me = {"text": "Call me", "quick": True}
    for _ in range(5):
        cast.client.post(f"/api/walks/{walk['id']}/messages", json=call_me, headers=mira.auth)
    said = {"text": "Someone is following me"}
    cast.client.post(f"/api/walks/{walk['id']}/messages", json=said, headers=mira.auth)
    told = [m["text"] for m in cast.told(noor, "message")]
    assert told == ["Call me", "Someone is following me"]
    cast.clock.advance(minutes=3)
    cast.client.post(f"/api/walks/{walk['id']}/messages", json=call_me, headers=mira.auth)
    assert [m["text"] for m in cast.told(noor, "message")][-1] == "Call me"  # later: again
    shown = [e for e in cast.events(noor, walk) if e["kind"] == "message"]
    assert len(shown) == 7

    otto, gus = cast.person("Otto"), cast.person("Gus")
    cast.channel(gus)
    for _ in range(3):
        asked = cast.ask(otto, gus)
        removed = cast.client.delete(f"/api/contacts/{asked}", headers=gus.auth)
        assert removed.status_code == 204, removed.text
    assert len(cast.told(gus, "contact_asked")) == 1
    # Once he has said yes, a new request (another role, after the contact ended) is news.
    asked = cast.ask(otto, gus)
    assert cast.client.post(f"/api/contacts/{asked}/accept", headers=gus.auth).status_code == 200
    assert cast.client.delete(f"/api/contacts/{asked}", headers=gus.auth).status_code == 204
    cast.ask(otto, gus, role="guardian")
    assert [a["role"] for a in cast.told(gus, "contact_asked")] == ["companion", "guardian"]


def test_her_sos_during_an_alarm_is_told_to_everyone_it_reached(cast: Cast) -> None:
    """Her silence raised the alarm ("did not answer"); then she pressed SOS (offline, sent
    when back; or online): it went on the timeline only, while her page said "SOS sent: the
    people following your walk are told" (an outside review). It is the same alarm, said
    again as her SOS, to everyone it reached; the ladder goes on saying SOS."""
    mira, noor, _phone, walk = silent_alarm(cast)
    before = len(cast.told(noor, "alarm"))
    pressed = cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert pressed.status_code == 200, pressed.text
    told = cast.told(noor, "alarm")
    assert len(told) == before + 1
    title, _body = render(told[-1])
    assert title == "ALARM: Mira pressed SOS."
    assert told[-1]["alarm_at"] == told[0].get("alarm_at", told[0]["at"])  # the same alarm
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "alarm"
    # Pressed again: said again (a later press is news).
    cast.clock.advance(seconds=30)
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert len(cast.told(noor, "alarm")) == before + 2
    # ...as a press again, with when (it was word for word the first: a companion's review).
    again = {**cast.told(noor, "alarm")[-1], "timezone": "UTC"}
    title, body = render(again)
    assert title == "ALARM: Mira pressed SOS again."
    times = [line for line in body.splitlines() if line.startswith(("Pressed", "Raised"))]
    assert times == ["Pressed at 20:31 (just now).", "Raised at 20:31 (30 s ago)."]
    # His page says it as what came during the alarm, since when the alarm began (it read as
    # a new alarm, "since" her press).
    shown = text_of(page(cast.client, f"/walks/{walk['id']}", noor).text)
    assert "asked because: the phone went silent, then SOS pressed" in shown
    assert "Mira's latest SOS: 20:31, just now" in shown


def test_an_alarm_her_devices_are_shown_under_her_duress_pin_says_not_to_call_her() -> None:
    """Under her duress PIN's silent alarm, her SOS (or no answer to what her devices were
    asked) reaches her companions as an alarm of its own: "ALARM: Mira pressed SOS." said
    nothing of not calling her, whose phone someone else may be watching."""
    said = {"kind": "alarm", "reason": "sos", "cover": True, "walker": {"name": "Mira"}}
    title, body = render(said)
    assert title == "ALARM: Mira pressed SOS. Do not call or message Mira."
    assert "Do not call or message Mira: whoever is with them may see their phone." in body
    unanswered = {**said, "reason": "no_answer", "asked_because": "stalled"}
    assert render(unanswered)[0] == (
        "ALARM: Mira did not answer “Are you OK?” Do not call or message Mira."
    )


def test_an_alarm_after_her_phone_went_silent_at_her_door_says_she_had_reached_it(
    cast: Cast,
) -> None:
    """Her phone dies at her door: the alarm said "the phone went silent" and where she was
    last seen, and her companions had to compare coordinates to know she had got there (a
    held-out walk)."""
    mira, noor, phone, walk = cast.walking()
    cast.channel(noor)
    cast.send(phone, cast.fix(HOME))
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["state"] == (
        "at_door"
    )
    for _ in range(12):
        cast.clock.advance(seconds=30)
        cast.services.watchdog.tick_sync()
    [alarm] = cast.told(noor, "alarm")
    assert alarm["asked_because"] == "silent"
    body = render(alarm)[1]
    assert "Mira had reached the door, and has not said “I'm inside”." in body
