"""`walkwithme check`, run as the operator runs it, on what would keep an alarm from anyone:
people without a channel that has worked, walkers whose companions would hear nothing, an
unsigned emergency hook, Apprise schemes that name nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import Cast, Member
from tests.service import Service
from tests.sinks import WebhookSink, webhook_sink
from tests.test_delivery import add_webhook, send_all
from tests.test_operator_cli import run
from tests.test_pages import page, text_of
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.config import load_config
from walkwithme.notify.channels import sign
from walkwithme.services import Services
from walkwithme.settings import BY_NAME
from walkwithme.upkeep import at_start, checks, hook, hook_finding

pytestmark = pytest.mark.one_database("sqlite")

DEFAULT_SCHEMES = BY_NAME["WWM_APPRISE_SCHEMES"].default


def check(data: Path, **env: str) -> dict[str, dict[str, Any]]:
    done = run("check", "--data", str(data), "--json", env=env)
    return {f["what"]: f for f in json.loads(done.stdout)}


def test_check_counts_who_no_alarm_would_reach(tmp_path: Path, clock: FakeClock) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'walkwithme.db'}"
    svc = make_services(url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true")
    with webhook_sink() as sink, TestClient(create_app(svc)) as client:
        cast = Cast(client, svc, clock)
        mira, noor = cast.person("Mira"), cast.person("Noor")
        empty = check(data)
        # No channel at all, no companion at all: said, not "ok: 0 channels".
        assert empty["channels"]["verdict"] == "warning"
        assert "nobody has a notification channel" in empty["channels"]["said"]
        assert empty["alarms"]["verdict"] == "warning"
        assert "nobody has a companion yet" in empty["alarms"]["said"]
        aino, gus, eero = cast.person("Aino"), cast.person("Gus"), cast.person("Eero")
        cast.link(mira, noor)
        cast.link(aino, gus)
        typo = add_webhook(cast, noor, "http://127.0.0.1:9/typo", tested=False)  # nobody there
        client.post(f"/api/channels/{typo['id']}/test", headers=noor.auth)
        send_all(svc)  # failed: fewer times than make it "failing", and it never worked
        works = add_webhook(cast, gus, sink.url + "/gus", tested=False)
        client.post(f"/api/channels/{works['id']}/test", headers=gus.auth)
        send_all(svc)
        add_webhook(cast, eero, sink.url + "/eero", tested=False)  # added, never tested
    svc.db.dispose()
    found = check(data)
    channels = found["channels"]
    assert channels["verdict"] == "warning"
    assert "4 of 5 people have no channel that has ever worked" in channels["said"]
    assert "1 channel never tested" in channels["said"]
    assert "1 channel failed each time tried, never worked" in channels["said"]
    alarms = found["alarms"]
    assert alarms["verdict"] == "warning"
    assert "1 of 2 walkers has no companion who would hear an alarm" in alarms["said"]


def test_check_names_an_unsigned_hook_and_apprise_schemes_that_name_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    run("migrate", "--data", str(data))
    with webhook_sink() as sink:  # (something answers at the hook's address)
        hook = sink.url + "/emergency"
        found = check(data, WWM_EMERGENCY_HOOK=hook, WWM_APPRISE_SCHEMES="mailto,ntfy,mailtoo")
        signed = check(
            data, WWM_EMERGENCY_HOOK=hook, WWM_HOOK_SECRET="s3cret", WWM_APPRISE_SCHEMES=""
        )
        assert sink.received == []  # asked whether it answers: nothing posted to it
    assert found["emergency hook"]["verdict"] == "warning"
    assert "without WWM_HOOK_SECRET" in found["emergency hook"]["said"]
    assert found["apprise"]["verdict"] == "warning"
    assert "names mailtoo, which Apprise here doesn't know" in found["apprise"]["said"]
    assert signed["emergency hook"]["verdict"] == "ok"
    assert "WWM_APPRISE_SCHEMES is empty" in signed["apprise"]["said"]
    assert set(DEFAULT_SCHEMES) <= checks.apprise_schemes()  # the default's are all known


def test_the_emergency_hook_on_the_operators_own_network_hears_an_alarm_and_check_says_how_it_fared(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The operator's hook at a private address (here 127.0.0.1), with people's webhooks kept
    off private addresses: the alarm nobody acknowledged reaches it (it was refused, and the
    top rung given up unsent). While it answers 502, `check` says its alarms are not
    arriving; once it takes one, `check` says so, with when."""
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'walkwithme.db'}"
    with webhook_sink() as hook:
        hook.script = [502]
        env = {"WWM_EMERGENCY_HOOK": hook.url + "/emergency", "WWM_HOOK_SECRET": "s3cret"}
        svc = make_services(url, tmp_path, clock, None, **env)
        assert not svc.config.allow_private_addresses
        with TestClient(create_app(svc)) as client:
            cast = Cast(client, svc, clock)
            mira, noor = cast.person("Mira"), cast.person("Noor")
            cast.link(mira, noor)
            walk = cast.start_walk(mira)
            client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
            for _ in range(2):  # to her guardians (she has none), then to the hook
                clock.advance(minutes=3)
                svc.watchdog.tick_sync()
            send_all(svc)
            assert [r.headers["x-answered"] for r in hook.received] == ["502"]
            failing = check(data, **env)["emergency hook"]
            assert failing["verdict"] == "warning"
            assert "not arriving (it answered 502): 1 being tried again" in failing["said"]
            clock.advance(minutes=5)
            send_all(svc)
        svc.db.dispose()
        alarm = json.loads(hook.ok()[0].body)
        assert (alarm["kind"], alarm["rung"]) == ("alarm", "hook")
        fine = check(data, **env)["emergency hook"]
        assert fine["verdict"] == "ok"
        assert "it took the last alarm posted to it, on " in fine["said"]
        assert "(1 in all)" in fine["said"]
    # Its receiver gone: nothing answers at its address, a failure (it said "ok" until the
    # night an alarm climbed to it: an outside review).
    gone = check(data, **env)["emergency hook"]
    assert gone["verdict"] == "failed"
    assert gone["said"].startswith("nothing answers at http://127.0.0.1:")
    assert "would reach nobody at the top of its ladder" in gone["said"]


def answering(url: str) -> None:
    """Something answers at the hook's address (as far as these tests are concerned)."""


def test_a_hook_that_gave_alarms_up_fails_the_check_and_says_if_it_is_unsigned() -> None:
    """Alarms given up at the top of the ladder reached nobody: a failure (exit code 1, for
    monitors), not a warning; tried again, a warning. An unsigned hook is said with either."""
    signed = load_config(
        {"WWM_EMERGENCY_HOOK": "https://oncall.example.org/h", "WWM_HOOK_SECRET": "s"}
    )
    unsigned = load_config({"WWM_EMERGENCY_HOOK": "https://oncall.example.org/h"})
    gave_up = hook.Health(3, 1_780_000_000_000, 0, 1, "it answered 404")
    trying = hook.Health(3, 1_780_000_000_000, 2, 0, "it answered 502")
    failed = hook_finding.finding(signed, gave_up, answering)
    assert failed.verdict is checks.Verdict.FAIL
    assert "not arriving (it answered 404): 1 given up" in failed.said
    assert hook_finding.finding(signed, trying, answering).verdict is checks.Verdict.WARN
    both = hook_finding.finding(unsigned, gave_up, answering)
    assert both.verdict is checks.Verdict.FAIL
    assert "without WWM_HOOK_SECRET" in both.said


def test_hook_test_posts_a_signed_test_and_says_whether_it_was_taken(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with webhook_sink() as hook:
        env = {"WWM_EMERGENCY_HOOK": hook.url + "/emergency?token=abc", "WWM_HOOK_SECRET": "s3"}
        taken = run("hook", "test", "--data", str(data), env=env)
        assert taken.returncode == 0, taken.stderr
        assert f"{hook.url.removeprefix('http://')}/... took a signed test alert" in taken.stdout
        assert "abc" not in taken.stdout  # the receiver's own secret stays unprinted
        (got,) = hook.received
        assert got.path == "/emergency?token=abc"
        assert got.headers["x-walkwithme-signature"] == sign("s3", got.body)
        assert json.loads(got.body)["kind"] == "test"
    nobody = {**env, "WWM_EMERGENCY_HOOK": "http://127.0.0.1:9/emergency"}
    refused = run("hook", "test", "--data", str(data), "--json", env=nobody)
    assert refused.returncode == 1
    assert json.loads(refused.stdout) == {
        "hook": "http://127.0.0.1:9/...",
        "took_it": False,
        "signed": True,
        "error": "nothing answered at that address",
    }
    with webhook_sink() as hook_sink:  # no secret: taken, but not said to be signed
        bare = {"WWM_EMERGENCY_HOOK": hook_sink.url + "/emergency", "WWM_HOOK_SECRET": ""}
        taken = run("hook", "test", "--data", str(data), env=bare)
        assert taken.returncode == 0, taken.stderr
        assert "took the test alert, UNSIGNED: set WWM_HOOK_SECRET" in taken.stdout
        assert "signed test" not in taken.stdout
    unset = run("hook", "test", "--data", str(data), env={"WWM_EMERGENCY_HOOK": ""})
    assert unset.returncode == 1
    assert "WWM_EMERGENCY_HOOK is not set" in unset.stderr


def test_check_says_when_the_running_services_heartbeat_fails(tmp_path: Path) -> None:
    """A mistyped WWM_HEARTBEAT_URL failed every beat, said only in the service's log: the
    dead man's switch would raise its alarm, and `check` said nothing (an operator's
    review). It asks the running service, here, and fails."""
    data = tmp_path / "data"
    with webhook_sink() as switch:
        switch.script = [501] * 100
        env = {"WWM_HEARTBEAT_URL": switch.url + "/ping/abc"}
        before = check(data, **env)["heartbeat"]
        assert before["verdict"] == "warning"  # nothing serves here yet
        assert "no service answers at" in before["said"]
        service = Service(data, env=env).start()
        try:
            said: dict[str, Any] = {}
            for _ in range(120):  # until beats have failed three times in a row (5 s apart)
                said = check(data, **env)["heartbeat"]
                if said["verdict"] == "failed":
                    break
                time.sleep(0.5)
        finally:
            service.stop()
    assert said["verdict"] == "failed", said
    assert "beats failed (HTTP 501)" in said["said"]
    assert "check WWM_HEARTBEAT_URL" in said["said"]


def metered(tmp_path: Path, clock: FakeClock) -> Services:
    """The service in `tmp_path`/data, with /healthz's counts for a token's bearer."""
    url = f"sqlite:///{tmp_path / 'data' / 'walkwithme.db'}"
    return make_services(
        url, tmp_path, clock, WWM_ALLOW_PRIVATE_ADDRESSES="true", WWM_METRICS_TOKEN="t" * 32
    )


def noor_hears_by_webhook(
    svc: Services, client: TestClient, clock: FakeClock, sink: WebhookSink
) -> tuple[Cast, Member, Member, dict[str, Any]]:
    """Mira walking; Noor, her companion, hears by a webhook to `sink` that has worked."""
    cast = Cast(client, svc, clock)
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    add_webhook(cast, noor, sink.url + "/noor")
    walk = cast.start_walk(mira)
    send_all(svc)  # "Mira started a walk": it works
    return cast, mira, noor, walk


@pytest.mark.parametrize("answer", [500, 404], ids=["tried again", "refused for good"])
def test_an_alarm_no_channel_took_fails_the_check_and_is_said_in_the_log_and_health(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture, answer: int
) -> None:
    """Her SOS, and Noor's webhook (which worked) answers 500: every check said all was well
    ("ok alarms"), /healthz said ok with nothing of it, and the log's line was a failed test's
    (an operator's review). The check fails and says why; the log says an ALARM; the health's
    counts say how many wait."""
    data = tmp_path / "data"
    svc = metered(tmp_path, clock)
    with webhook_sink() as sink, TestClient(create_app(svc)) as client:
        cast, mira, noor, walk = noor_hears_by_webhook(svc, client, clock, sink)
        sink.script = [answer] * 5  # (a 404: given up at once, her walk still in its alarm)
        client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
        send_all(svc)
        assert "an ALARM could not be delivered" in caplog.text
        fate = "given up: it is refused for good" if answer == 404 else "tried again"
        assert f"try 1; {fate}): it answered {answer}" in caplog.text
        health = client.get("/healthz", headers={"Authorization": "Bearer " + "t" * 32}).json()
        assert health["outbox"]["undelivered_alarms"] == 1
        # ...and the operator's page says it first (it said all was well: an outside review).
        ola = cast.person("Ola", operator=True)
        said = text_of(page(client, "/admin", ola).text)
        assert "1 alarm alert could not be delivered" in said
        assert "someone may be in danger and not heard" in said
        assert f"The last failed with: it answered {answer}" in said
    svc.db.dispose()
    alarms = check(data)["alarms"]
    assert alarms["verdict"] == "failed"
    assert alarms["said"].startswith("1 alarm alert could not be delivered")
    assert (
        "someone may be in danger and not heard. The last failed with: it answered"
        in (alarms["said"])
    )


def test_the_operator_deletes_someone_only_once_their_walk_is_over(
    tmp_path: Path, clock: FakeClock
) -> None:
    """`people delete` during her walk is refused in the operator's words (it said "your
    account can't be deleted", the walker's: an operator's review); after it, done."""
    data = tmp_path / "data"
    svc = make_services(f"sqlite:///{data / 'walkwithme.db'}", tmp_path, clock)
    with TestClient(create_app(svc)) as client:
        cast = Cast(client, svc, clock)
        mira, noor = cast.person("Mira"), cast.person("Noor")
        cast.link(mira, noor)
        walk = cast.start_walk(mira)
        refused = run("people", "delete", mira.email, "--yes", "--data", str(data))
        assert refused.returncode == 1
        assert "this person is on a walk now: their companions are following it" in (
            refused.stderr.replace("\n", " ")
        )
        ended = client.post(f"/api/walks/{walk['id']}/end", json={"pin": "2468"}, headers=mira.auth)
        assert ended.status_code == 200, ended.text
    svc.db.dispose()
    done = run("people", "delete", mira.email, "--yes", "--data", str(data))
    assert done.returncode == 0, done.stderr
    assert f"Deleted {mira.email}" in done.stdout


def test_check_says_what_would_fail_unheard_a_broker_away_no_backstops_a_street_file_not_one(
    tmp_path: Path,
) -> None:
    """An operator's first hour: a broker nobody answers at, no heartbeat and no hook, and a
    street file that is not one were all missing from `check`'s list, or "ok", while `serve`
    refused the file and her OwnTracks phone would have gone unheard."""
    junk = tmp_path / "city.osm.pbf"
    junk.write_text("junk\n")
    found = check(tmp_path / "data", WWM_MQTT_URL="mqtt://127.0.0.1:9", WWM_STREETS=str(junk))
    assert found["MQTT broker"]["verdict"] == "failed"
    assert "127.0.0.1:9 can't be reached from here" in found["MQTT broker"]["said"]
    assert "phones that report through it go unheard" in found["MQTT broker"]["said"]
    assert found["streets"]["verdict"] == "failed"
    assert "is not an OpenStreetMap .osm.pbf file" in found["streets"]["said"]
    assert found["heartbeat"]["verdict"] == "warning"
    assert "nobody outside hears of it" in found["heartbeat"]["said"]
    assert found["emergency hook"]["verdict"] == "warning"
    assert "not set (WWM_EMERGENCY_HOOK)" in found["emergency hook"]["said"]
    assert (
        run("check", "--data", str(tmp_path / "data"), env={"WWM_STREETS": str(junk)}).returncode
        == 1
    )
    shipped = str(Path(__file__).parents[1] / "src/walkwithme/data/helsinki.osm.pbf")
    fine = check(tmp_path / "data", WWM_STREETS=shipped)
    assert fine["streets"]["verdict"] == "ok"


def test_a_proxy_whose_service_is_down_is_said_so_and_an_untrusted_certificate_how_to_check(
    tmp_path: Path,
) -> None:
    """`check` said "answered 502", and "CERTIFICATE_VERIFY_FAILED" with nothing on what to do
    (an operator's first hour, behind Caddy)."""
    config = load_config({"WWM_DATA": str(tmp_path), "WWM_PUBLIC_URL": "https://walk.example.org"})

    def public(get: checks.Getter) -> checks.Finding:
        return next(f for f in checks.run(config, FakeClock(), get) if f.what == "public address")

    down = public(lambda url: httpx2.Response(502, request=httpx2.Request("GET", url)))
    assert down.verdict is checks.Verdict.FAIL
    assert "the proxy is up, but the service behind it does not answer" in down.said

    def untrusted(url: str) -> httpx2.Response:
        raise httpx2.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")

    said = public(untrusted).said
    assert "a certificate this machine doesn't trust" in said
    assert "docs/deploy.md#3-https-with-caddy" in said


def test_serve_says_as_it_starts_that_its_clock_is_behind_the_database(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Started on a clock two days behind, `serve` said nothing (only `check` did), and the
    walks going on were judged two days late (an outside review of an operator's first
    hour)."""
    url = f"sqlite:///{tmp_path / 'data' / 'walkwithme.db'}"
    svc = make_services(url, tmp_path, clock)
    with TestClient(create_app(svc)) as client:
        Cast(client, svc, clock).walking()
        assert at_start.said_at_start(svc) == []  # the clock it recorded with: nothing said
    svc.db.dispose()
    behind = FakeClock(clock.now_ms() - 2 * 24 * 3_600_000)
    late = make_services(url, tmp_path, behind)
    [said] = at_start.said_at_start(late)
    assert "this machine's clock is 2880 min behind what the database recorded" in said
    assert "walks going on are judged late until it is" in said
    late.db.dispose()


def test_an_alarm_given_up_is_not_counted_again_in_the_walks_next_alarm(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Her SOS's alert refused for good (404), the alarm resolved, then a second SOS that
    reaches Noor: the first was counted again as undelivered, and `check` failed on an alarm
    long over (an outside review of an operator's first hour)."""
    svc = metered(tmp_path, clock)
    operations = {"Authorization": "Bearer " + "t" * 32}
    with webhook_sink() as sink, TestClient(create_app(svc)) as client:
        _cast, mira, noor, walk = noor_hears_by_webhook(svc, client, clock, sink)
        sink.script = [404]
        client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
        send_all(svc)
        assert (
            client.get("/healthz", headers=operations).json()["outbox"]["undelivered_alarms"] == 1
        )
        found = {"note": "she is fine"}
        client.post(f"/api/walks/{walk['id']}/resolve", json=found, headers=noor.auth)
        send_all(svc)
        clock.advance(minutes=2)
        client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
        send_all(svc)
        assert sink.ok()[-1].path == "/noor"  # the second SOS reached him
        health = client.get("/healthz", headers=operations).json()
        assert health["outbox"]["undelivered_alarms"] == 0
    svc.db.dispose()
