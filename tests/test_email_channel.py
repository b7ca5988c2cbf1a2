""" "Email me": a person gives only her address, and the operator's own mail server
(WWM_SMTP_URL) sends her alerts. A real SMTP server (aiosmtpd) on 127.0.0.1 receives them; the
service is not allowed private addresses, so the operator's loopback relay is trusted config,
not a channel's address."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import Cast, Member
from tests.sinks import Mailbox, smtp_server
from tests.test_delivery import html_part, plain_text
from tests.test_manage_pages import page, post, text_of
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.config import ConfigError, load_config
from walkwithme.domain.errors import Invalid
from walkwithme.net import free_port
from walkwithme.notify import mail
from walkwithme.notify.mail import SmtpServer, check_address
from walkwithme.services import Services
from walkwithme.upkeep import at_start, checks

pytestmark = pytest.mark.one_database  # the outbox's queries are the other kinds' (conftest.py)

SENDER = "walks@example.org"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as running:
        yield running


def serve(db_url: str, tmp_path: Path, clock: FakeClock, **settings: str) -> Iterator[Cast]:
    svc = make_services(db_url, tmp_path, clock, None, **settings)
    with TestClient(create_app(svc), base_url="http://127.0.0.1:8000") as client:
        yield Cast(client, svc, clock)
    svc.db.dispose()


@pytest.fixture
def mailing(db_url: str, tmp_path: Path, clock: FakeClock, mailbox: Mailbox) -> Iterator[Cast]:
    """A service whose operator relays email through the SMTP server on this machine (and
    allows people's channels no private address)."""
    url = f"smtp://127.0.0.1:{mailbox.port}?from={SENDER}"
    yield from serve(db_url, tmp_path, clock, WWM_SMTP_URL=url)


def add_email(cast: Cast, who: Member, address: str | None = None) -> dict[str, object]:
    """Her email channel, added on the channels page as she would: the address only."""
    added = post(
        cast.client, who, "/channels", "/channels", kind="email", email=address or who.email
    )
    assert added.status_code == 200, added.text
    [channel] = cast.client.get("/api/channels", headers=who.auth).json()
    assert channel["kind"] == "email"
    return dict(channel)


def send_all(svc: Services) -> int:
    return svc.notifier.tick_sync()


# -- the setting ------------------------------------------------------------------------------


def test_the_mail_servers_url_says_how_to_reach_it() -> None:
    def read(url: str) -> SmtpServer:
        smtp = load_config({"WWM_SMTP_URL": url}).smtp
        assert smtp is not None
        return smtp

    submission = read(f"smtp://walks%40example.org:p%40ss@mail.example.org:587?from={SENDER}")
    assert (submission.host, submission.port) == ("mail.example.org", 587)
    assert submission.tls == "starttls"
    assert (submission.username, submission.password) == ("walks@example.org", "p@ss")
    assert submission.sender == SENDER
    assert read(f"smtps://u:p@mail.example.org?from={SENDER}").port == 465
    assert read(f"smtps://u:p@mail.example.org?from={SENDER}").tls == "implicit"
    assert read(f"smtp://mail.example.org?from={SENDER}").port == 587  # submission
    relay = read(f"smtp://127.0.0.1:25?from={SENDER}")
    assert (relay.port, relay.tls, relay.username) == (25, "none", None)
    assert read(f"smtp://mail:25?from={SENDER}&starttls=no").tls == "none"  # a container next door
    assert read(f"smtp://localhost:25?from={SENDER}&starttls=yes").tls == "starttls"
    assert load_config({}).smtp is None
    greeted = load_config(
        {"WWM_SMTP_URL": f"smtp://127.0.0.1?from={SENDER}", "WWM_PUBLIC_URL": "https://w.example"}
    ).smtp
    assert greeted is not None
    assert greeted.helo == "w.example"
    # Its password is in no representation of the settings.
    assert "p@ss" not in repr(load_config({"WWM_SMTP_URL": f"smtp://u:p%40ss@h?from={SENDER}"}))


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("smtp://u:hunter2@mail.example.org:587", "needs ?from="),
        ("smtp://u:hunter2@mail.example.org?from=not-an-address", "needs ?from="),
        ("http://u:hunter2@mail.example.org?from=walks@example.org", "must be smtp://"),
        ("smtp://u:hunter2@:587?from=walks@example.org", "must be smtp://"),
        ("smtp://u:hunter2@mail.example.org:99999?from=walks@example.org", "must be smtp://"),
        ("smtp://u:hunter2@mail.example.org?from=walks@example.org&tls=1", "unknown parameter"),
        ("smtps://u:hunter2@mail.example.org?from=walks@example.org&starttls=no", "starttls"),
    ],
)
def test_a_bad_mail_server_url_stops_start_up_naming_it_and_not_its_password(
    url: str, said: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config({"WWM_SMTP_URL": url})
    message = str(refused.value)
    assert message.startswith("WWM_SMTP_URL=(hidden): ")
    assert said in message
    assert "hunter2" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "address",
    [
        "noor@example.org\r\nBcc: everyone@example.org",
        "noor@example.org, gus@example.org",
        "Noor <noor@example.org>",
        "noor@example",
        "noor@127.0.0.1",
        "@example.org",
        "noor",
        "no or@example.org",
        "x" * 250 + "@example.org",
        "victim%elsewhere.example@example.org",  # routed on to elsewhere by some relays
        "elsewhere.example!victim@example.org",
    ],
)
def test_an_email_channel_is_one_address_and_nothing_more(address: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_address(address)
    assert refused.value.field == "target"


def test_an_address_is_kept_as_mail_servers_read_it() -> None:
    assert check_address("  Noor.K+walks@Example.ORG ") == "Noor.K+walks@example.org"
    assert check_address("noor@bücher.example") == "noor@xn--bcher-kva.example"


# -- without the operator's mail server --------------------------------------------------------


def test_without_a_mail_server_email_is_refused_by_kind_and_the_page_stays_as_it_was(
    cast: Cast,
) -> None:
    noor = cast.person("Noor")
    refused = cast.client.post(
        "/api/channels", json={"kind": "email", "target": noor.email}, headers=noor.auth
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "kind"
    assert "WWM_SMTP_URL" in refused.json()["error"]
    shown = page(cast.client, "/channels", noor).text
    assert 'value="email"' not in shown
    assert 'name="email"' not in shown
    assert "mailtos://user:password@" in shown  # the Apprise way, as before
    on_page = post(cast.client, noor, "/channels", "/channels", kind="email", email=noor.email)
    assert on_page.status_code == 422
    assert "does not send email itself" in text_of(on_page.text)
    assert cast.client.get("/api/channels", headers=noor.auth).json() == []


def test_the_check_says_email_is_not_offered_without_a_mail_server() -> None:
    said = checks.email_finding(load_config({}))
    assert said.verdict is checks.Verdict.WARN
    assert "WWM_SMTP_URL is not set" in said.said


# -- with it ------------------------------------------------------------------------------------


def test_the_channels_page_offers_email_first_and_chosen(mailing: Cast) -> None:
    noor = mailing.person("Noor")
    shown = page(mailing.client, "/channels", noor).text
    kinds = re.findall(r'name="kind" value="(\w+)"( checked)?', shown)
    assert kinds[0] == ("email", " checked")
    assert [k for k, _ in kinds] == ["email", "webhook", "apprise"]
    field = re.search(r"<input id=\"email\"[^>]*>", shown)
    assert field is not None
    assert 'type="email"' in field.group(0)
    assert 'autocomplete="email"' in field.group(0)
    assert "Your email address" in text_of(shown)
    assert "you need no password or app" in text_of(shown)
    assert "channel_kind.js" in shown
    # The other kinds still work from the same form (without the script, both fields show).
    hook = post(
        mailing.client, noor, "/channels", "/channels", kind="webhook", target="ftp://x", email=""
    )
    assert "A webhook needs an http or https URL" in text_of(hook.text)
    missing = post(mailing.client, noor, "/channels", "/channels", kind="email", email="")
    assert missing.status_code == 422
    assert "Your email address is missing" in text_of(missing.text)
    header = post(
        mailing.client, noor, "/channels", "/channels", kind="email", email="a@b.org\nBcc: c@d.org"
    )
    assert header.status_code == 422
    assert "not an email address" in text_of(header.text)


def test_a_test_reaches_her_address_from_the_operators_server(
    mailing: Cast, mailbox: Mailbox
) -> None:
    noor = mailing.person("Noor")
    channel = add_email(mailing, noor)
    assert channel["label"] == noor.email  # named by the address she typed
    assert channel["status"] == "untested"
    shown = text_of(page(mailing.client, "/channels", noor).text)
    assert f"{noor.email} (email): not tested yet" in shown
    again = post(mailing.client, noor, "/channels", "/channels", kind="email", email=noor.email)
    assert again.status_code == 409  # the same address twice would hear everything twice
    post(mailing.client, noor, f"/channels/{channel['id']}/test", "/channels")
    assert send_all(mailing.services) == 1
    [test] = mailbox.messages
    assert test["To"] == noor.email
    assert test["From"] == f"Walk With Me <{SENDER}>"
    assert test["Subject"] == "A test from Walk With Me: this channel works."
    assert test["X-Walkwithme-Alert"]
    assert mailbox.recipients == [[noor.email]]
    assert "this channel works" in plain_text(test)
    listed = mailing.client.get("/api/channels", headers=noor.auth).json()
    assert listed[0]["status"] == "working"
    assert "target" not in listed[0]


def test_her_sos_reaches_her_companions_address_with_the_walks_link(
    mailing: Cast, mailbox: Mailbox
) -> None:
    mira, noor = mailing.person("Mira"), mailing.person("Noor")
    mailing.link(mira, noor)
    made = mailing.client.post(
        "/api/channels", json={"kind": "email", "target": noor.email}, headers=noor.auth
    )
    assert made.status_code == 201, made.text
    walk = mailing.start_walk(mira)
    mailing.clock.advance(seconds=40)
    mailing.send(mailing.device(mira), mailing.fix((60.1705, 24.9415), battery=33))
    mailing.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    send_all(mailing.services)
    alarm = next(m for m in mailbox.messages if m["Subject"].startswith("ALARM"))
    assert alarm["Subject"] == "ALARM: Mira pressed SOS."
    assert alarm["To"] == noor.email
    assert alarm["X-Walkwithme-Alert"].startswith("wwm-alert-")
    text = plain_text(alarm)
    assert "Last seen at 20:27 (just now): 60.17050, 24.94150 (±8 m)." in text
    assert "Battery 33%." in text
    link = f"{mailing.services.config.base_url}/walks/{walk['id']}"
    assert link in text
    assert f'<a href="{link}">' in html_part(alarm)
    assert send_all(mailing.services) == 0  # nothing twice


def test_a_mail_server_that_refuses_shows_why_and_the_alarm_is_tried_again(
    mailing: Cast, mailbox: Mailbox
) -> None:
    mira, noor = mailing.person("Mira"), mailing.person("Noor")
    mailing.link(mira, noor)
    add_email(mailing, noor)
    mailbox.refuse = ["451 4.3.0 Mailbox busy, try later"]
    walk = mailing.start_walk(mira)
    assert send_all(mailing.services) == 1
    assert mailbox.messages == []
    shown = text_of(page(mailing.client, "/channels", noor).text)
    assert "failing: the mail server refused the email (451 4.3.0 Mailbox busy, try later)" in (
        shown
    )
    assert "trying again" in shown
    assert send_all(mailing.services) == 0  # backing off
    mailing.clock.advance(seconds=10)
    assert send_all(mailing.services) == 1
    [started] = mailbox.messages
    assert f"/walks/{walk['id']}" in plain_text(started)
    listed = mailing.client.get("/api/channels", headers=noor.auth).json()
    assert (listed[0]["status"], listed[0]["failures"]) == ("working", 0)


def test_an_unreachable_mail_server_is_tried_again_and_said(
    db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    nothing = free_port()  # nobody listens there
    for cast in serve(
        db_url, tmp_path, clock, WWM_SMTP_URL=f"smtp://127.0.0.1:{nothing}?from={SENDER}"
    ):
        noor = cast.person("Noor")
        channel = add_email(cast, noor)
        post(cast.client, noor, f"/channels/{channel['id']}/test", "/channels")
        assert send_all(cast.services) == 1
        [listed] = cast.client.get("/api/channels", headers=noor.auth).json()
        assert listed["last_error"] == "the mail server could not be reached"
        assert listed["status"] != "broken"  # tried again: the server may be back
        clock.advance(seconds=10)
        assert send_all(cast.services) == 1
        said = checks.email_finding(cast.services.config)
        assert said.verdict is checks.Verdict.FAIL
        assert "could not be reached" in said.said


def test_the_check_says_email_is_offered_when_its_server_answers(mailbox: Mailbox) -> None:
    config = load_config({"WWM_SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}?from={SENDER}"})
    said = checks.email_finding(config)
    assert said.verdict is checks.Verdict.OK
    assert said.said == f"offered, through 127.0.0.1:{mailbox.port} (no TLS), from {SENDER}"
    assert mailbox.messages == []  # it asked, and sent nothing


def test_a_channel_left_when_the_operator_turns_email_off_breaks_saying_why(
    mailing: Cast, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    noor = mailing.person("Noor")
    channel = add_email(mailing, noor)
    post(mailing.client, noor, f"/channels/{channel['id']}/test", "/channels")
    # The service restarts without WWM_SMTP_URL, and sends what was queued.
    for without in serve(db_url, tmp_path / "off", clock):
        assert without.services.config.smtp is None
        assert send_all(without.services) == 1
    shown = text_of(page(mailing.client, "/channels", noor).text)
    assert f"{noor.email} (email): broken" in shown
    assert "Why: this server no longer sends email (its operator turned it off)" in shown


def test_email_channels_broken_while_email_was_off_work_again_when_it_is_back(
    mailing: Cast, mailbox: Mailbox, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """Started once without WWM_SMTP_URL (by hand, without its settings), the service broke
    every email channel that had an alert to send, for good: the setting back, they stayed
    broken, and the ladder skipped whoever had only email (an outside review of an
    operator's first hour). `serve` and `check` say it while it is off; back on, `serve`
    mends them as it starts."""
    mira, noor = mailing.person("Mira"), mailing.person("Noor")
    mailing.link(mira, noor)
    channel = add_email(mailing, noor)
    post(mailing.client, noor, f"/channels/{channel['id']}/test", "/channels")
    assert send_all(mailing.services) == 1
    post(mailing.client, noor, f"/channels/{channel['id']}/test", "/channels")
    for without in serve(db_url, tmp_path / "off", clock):
        [said] = at_start.said_at_start(without.services)
        assert "1 email channel(s) get no alerts: WWM_SMTP_URL is not set" in said
        assert send_all(without.services) == 1
        found = checks.email_finding(without.services.config, 1)
        assert found.verdict is checks.Verdict.FAIL
        assert "people have 1 email channel: they get no alerts" in found.said
    [broken] = mailing.client.get("/api/channels", headers=noor.auth).json()
    assert broken["status"] == "broken"

    assert at_start.said_at_start(mailing.services) == [
        "1 email channel(s) broken while this server sent no email work again"
    ]
    [mended] = mailing.client.get("/api/channels", headers=noor.auth).json()
    assert (mended["status"], mended["last_error"]) == ("working", None)
    assert at_start.said_at_start(mailing.services) == []  # once
    walk = mailing.start_walk(mira)
    sos = mailing.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    assert sos.status_code == 200, sos.text
    send_all(mailing.services)
    assert [m["To"] for m in mailbox.messages][-1] == noor.email
    assert "SOS" in mailbox.messages[-1]["Subject"]


def test_an_address_its_mail_server_refuses_is_said_without_naming_it(
    mailing: Cast, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Her page says why in the server's words, and neither it nor the log names the address
    (the notifier logs the reason: docs/privacy.md)."""
    noor = mailing.person("Noor")
    channel = add_email(mailing, noor)
    mailbox.refuse_to = [f"550 5.1.1 <{noor.email}>: Recipient address rejected"]
    post(mailing.client, noor, f"/channels/{channel['id']}/test", "/channels")
    assert send_all(mailing.services) == 1
    [listed] = mailing.client.get("/api/channels", headers=noor.auth).json()
    assert listed["last_error"] == (
        "the mail server refused this address (550 5.1.1 <address>: Recipient address rejected)"
    )
    assert noor.email not in caplog.text
    assert "Recipient address rejected" in caplog.text
    mailing.clock.advance(seconds=10)
    assert send_all(mailing.services) == 1  # tried again: it may be set right meanwhile
    assert mailbox.recipients == [[noor.email]]


def test_a_server_without_the_starttls_its_url_asks_for_is_not_sent_to(mailbox: Mailbox) -> None:
    """A password is never sent in the clear: no STARTTLS offered, nothing signed in or sent."""
    url = f"smtp://walks:secret@127.0.0.1:{mailbox.port}?from={SENDER}&starttls=yes"
    said = checks.email_finding(load_config({"WWM_SMTP_URL": url}))
    assert said.verdict is checks.Verdict.FAIL
    assert "offers no STARTTLS, which WWM_SMTP_URL asks for" in said.said
    assert "secret" not in said.said
    assert mailbox.messages == []


def test_a_server_that_offers_no_sign_in_is_said_so_not_taken_for_missing_starttls(
    mailbox: Mailbox,
) -> None:
    """A relay that takes mail without a sign-in, with a user and password in the URL: the
    check said STARTTLS was missing, which the URL never asked for (an operator's review)."""
    url = f"smtp://walks:secret@127.0.0.1:{mailbox.port}?from={SENDER}&starttls=no"
    said = checks.email_finding(load_config({"WWM_SMTP_URL": url}))
    assert said.verdict is checks.Verdict.FAIL
    assert "offers no sign-in, which WWM_SMTP_URL asks for" in said.said
    assert "offers no STARTTLS" not in said.said
    assert mailbox.messages == []


def test_a_mail_server_that_never_answers_is_said_to_take_too_long_not_to_hang_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that took the connection and said nothing was "hung up before the email was
    sent" (smtplib calls a timeout a closed connection): the operator looked for the wrong
    fault (an outside review)."""
    monkeypatch.setattr(mail, "TIMEOUT_S", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # takes the connection, never greets
        port = silent.getsockname()[1]
        said = checks.email_finding(
            load_config({"WWM_SMTP_URL": f"smtp://127.0.0.1:{port}?from={SENDER}"})
        )
    assert said.verdict is checks.Verdict.FAIL
    assert "the mail server took too long to answer" in said.said
