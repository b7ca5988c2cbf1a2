"""`walkwithme check`: is this deployment ready to walk people home? One line a finding.

Each check answers for one thing an operator would otherwise find out from a walker at night:
the settings, the database (reachable, migrated), the data folder (private, writable), the
street map, people's broken channels, email alerts (is the operator's mail server set, and
does it answer and take the sign-in?), the emergency hook (signed, and did the alarms posted
to it arrive?), the public address (can a phone reach it?), and the
clock (never behind what the database already recorded). A failure makes the exit code 1; a
warning (something works, but not as a real deployment wants it) does not.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator

import httpx2
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from walkwithme.clock import Clock, ahead_of_real, was_jumped
from walkwithme.config import Config
from walkwithme.notify import mail
from walkwithme.startup import FAST_CLOCK, listening_at, not_a_folder, safe_url, served_at
from walkwithme.store.database import Database
from walkwithme.store.migrate import (
    NewerDatabase,
    known_revisions,
    recorded_revision,
    script_head,
)
from walkwithme.store.schema import events, people
from walkwithme.upkeep import backstops, hook, hook_finding
from walkwithme.upkeep.findings import Finding as Finding
from walkwithme.upkeep.findings import Verdict as Verdict
from walkwithme.upkeep.reach import reach
from walkwithme.usecases import channels, outbox

REACH_TIMEOUT_S = 5.0
AHEAD_SLACK_MS = 60_000  # the database may hold times this far past the clock (other hosts)


Getter = Callable[[str], httpx2.Response]


def _get(url: str) -> httpx2.Response:
    return httpx2.get(url, timeout=REACH_TIMEOUT_S, follow_redirects=False)


def run(config: Config, clock: Clock, get: Getter = _get) -> list[Finding]:
    return list(_all(config, clock, get))


def _all(config: Config, clock: Clock, get: Getter) -> Iterator[Finding]:
    yield _settings(config)
    yield _data_folder(config)  # (PostgreSQL's too: where serve listens, the VAPID key)
    db = Database(config.database_url)
    try:
        found = _database(config, db)
        yield found
        healthy = found.verdict is not Verdict.FAIL
        if healthy:
            yield channels_finding(db)
            yield alarms_finding(db)
            yield _clock(config, db, clock)
        # (read only for a hook that is set: without one, no alarm climbs to it)
        hook_health = db.read_sync(hook.health) if healthy and config.emergency_hook else None
        emails = db.read_sync(channels.email_channels) if healthy else 0
    finally:
        db.dispose()
    yield _streets(config)
    yield email_finding(config, emails)
    yield _public_url(config, get)
    yield _heartbeat(config, get) if config.heartbeat_url else backstops.no_heartbeat()
    yield (
        hook_finding.finding(config, hook_health) if config.emergency_hook else backstops.no_hook()
    )
    if config.mqtt_url:
        yield backstops.mqtt_broker(config.mqtt_url)
    yield _apprise(config)


def _settings(config: Config) -> Finding:
    if config.warnings:
        return Finding("settings", Verdict.WARN, "; ".join(config.warnings))
    return Finding("settings", Verdict.OK, "read, no unknown WWM_ names")


def _data_folder(config: Config) -> Finding:
    folder = config.data_dir
    if not folder.is_dir():
        blocked = not_a_folder(folder)
        if blocked:
            return Finding("data folder", Verdict.FAIL, blocked)
        # (Not yet served: `serve` makes it, and the database, the first time.)
        return Finding(
            "data folder", Verdict.FAIL, f"{folder} does not exist yet (walkwithme serve makes it)"
        )
    if not os.access(folder, os.W_OK):
        return Finding("data folder", Verdict.FAIL, f"{folder} can't be written by this account")
    exposed = [
        p.name
        for p in [folder, *folder.iterdir()]
        if (p == folder or p.is_file()) and stat.S_IMODE(p.lstat().st_mode) & 0o077
    ]
    if exposed:
        return Finding(
            "data folder",
            Verdict.WARN,
            f"{folder}: readable by other accounts ({', '.join(exposed)}); the service makes "
            "it 0700 and its files 0600 when it starts",
        )
    return Finding("data folder", Verdict.OK, f"{folder}, private to this account")


def _database(config: Config, db: Database) -> Finding:
    shown = safe_url(config.database_url)
    if (
        config.database_url.startswith("sqlite")
        and not (config.data_dir / "walkwithme.db").exists()
    ):
        return Finding(
            "database", Verdict.FAIL, f"{shown} does not exist yet (walkwithme serve makes it)"
        )
    try:
        with db.write_engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
        return Finding("database", Verdict.FAIL, f"{shown} can't be reached: {first}")
    at, head = recorded_revision(db.write_engine), script_head()
    if at is None:
        return Finding("database", Verdict.FAIL, f"{shown} has no schema (walkwithme migrate)")
    if at not in known_revisions():
        return Finding("database", Verdict.FAIL, f"{shown}: {NewerDatabase(at)}")
    if at != head:
        return Finding(
            "database", Verdict.FAIL, f"{shown} is at schema {at}, not {head} (walkwithme migrate)"
        )
    with db.write_engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(people)).scalar_one()
    if count == 0:
        return Finding(
            "database", Verdict.WARN, f"{shown}, schema {at}, but nobody has an account yet"
        )
    return Finding("database", Verdict.OK, f"{shown}, schema {at}, {_n(count, 'person', 'people')}")


def channels_finding(db: Database) -> Finding:
    """People's channels: who has none that has worked, and those never tested, failed each
    time, broken or failing, counted (not whose: that is theirs)."""
    with db.write_engine.connect() as conn:
        total, given_up, trying = outbox.counts(conn)
        found = reach(conn)
    said = []
    if found.unheard:
        said.append(
            f"{found.unheard} of {_n(found.people, 'person', 'people')} "
            f"{'has' if found.unheard == 1 else 'have'} no channel that has ever worked "
            "(or only failing ones): alerts for them arrive nowhere"
        )
    if found.untested:
        said.append(f"{_n(found.untested, 'channel')} never tested")
    if found.never_worked:
        said.append(f"{_n(found.never_worked, 'channel')} failed each time tried, never worked")
    if given_up:
        said.append(f"{given_up} broken: their alerts don't arrive there")
    if trying:
        said.append(
            f"{trying} failing: their alerts are tried again (a mail server or a webhook down?)"
        )
    if not total:
        return Finding(
            "channels",
            Verdict.WARN,
            "nobody has a notification channel: no alert, alarms included, reaches anyone "
            "(each person adds one on their channels page, and tests it)",
        )
    if said:
        return Finding(
            "channels",
            Verdict.WARN,
            f"{_n(total, 'channel')} in all: {'; '.join(said)}. Each person sees why on their "
            "channels page, and tests a channel there",
        )
    return Finding(
        "channels", Verdict.OK, f"{_n(total, 'channel')}, each has worked; none broken or failing"
    )


def alarms_finding(db: Database) -> Finding:
    """Alarms that could not be delivered and wait (failed: someone may be in danger and not
    heard, for a fault the operator may mend), else walkers none of whose companions would
    hear an alarm: the walk's own start says "Nobody would hear an alarm"
    (alerts.who_would_hear), here counted for the operator."""
    with db.write_engine.connect() as conn:
        found = reach(conn)
        undelivered = outbox.undelivered_alarms(conn)
    if undelivered.waiting:
        return Finding(
            "alarms",
            Verdict.FAIL,
            f"{_n(undelivered.waiting, 'alarm alert')} could not be delivered (waiting to be "
            "tried again, or given up while the alarm goes on): someone may be in danger and "
            f"not heard. The last failed with: {undelivered.last_error}",
        )
    if not found.walkers:
        return Finding(
            "alarms",
            Verdict.WARN,
            "nobody has a companion yet: an alarm from any walk would reach nobody",
        )
    if found.alone:
        return Finding(
            "alarms",
            Verdict.WARN,
            f"{found.alone} of {_n(found.walkers, 'walker')} "
            f"{'has' if found.alone == 1 else 'have'} no companion who would hear an "
            "alarm (none of their companions has a channel that has worked): their walks "
            'start with "Nobody would hear an alarm"',
        )
    return Finding(
        "alarms",
        Verdict.OK,
        (f"each of {found.walkers} walkers has" if found.walkers > 1 else "the one walker has")
        + " a companion who would hear an alarm",
    )


def _n(count: int, thing: str, things: str = "") -> str:
    """ "1 channel", "2 channels"; "1 person", "3 people" (`things`: an odd plural)."""
    return f"{count} {thing if count == 1 else things or thing + 's'}"


def _clock(config: Config, db: Database, clock: Clock) -> Finding:
    if was_jumped(config.data_dir / FAST_CLOCK):
        # Failed, not warned: plain `serve` refuses this folder (startup.clock_refused).
        return Finding(
            "clock",
            Verdict.FAIL,
            "a drill jumped this data folder's clock: `serve` refuses it without --drill "
            "(never in production): use another data folder",
        )
    ahead = ahead_of_real(config.data_dir / FAST_CLOCK)
    if clock.speed == 1.0 and ahead > AHEAD_SLACK_MS:
        return Finding(
            "clock",
            Verdict.FAIL,
            f"a fast clock (--clock-speed) ran this data folder's clock {ahead // 60_000} min "
            "ahead of real time: serve it with --clock-speed again, or use another folder",
        )
    with db.write_engine.connect() as conn:
        behind = clock_behind(conn, clock.now_ms())
    if behind is not None:
        return Finding("clock", Verdict.FAIL, behind)
    return Finding("clock", Verdict.OK, "not behind anything the database recorded")


def clock_behind(conn: sa.Connection, now: int) -> str | None:
    """Why the clock is wrong, if it is behind what the database recorded (`serve` says it
    as it starts, too)."""
    latest = conn.execute(sa.select(sa.func.max(events.c.at))).scalar_one()
    if latest is None or latest <= now + AHEAD_SLACK_MS:
        return None
    minutes = (latest - now) / 60_000
    return (
        f"this machine's clock is {minutes:.0f} min behind what the database recorded: "
        "deadlines would fall late (set the clock right, e.g. with NTP)"
    )


def _streets(config: Config) -> Finding:
    if config.streets is None:
        return Finding(
            "streets",
            Verdict.WARN,
            "none (WWM_STREETS): walks are judged by the straight line to their destination",
        )
    size = config.streets.stat().st_size / 1_000_000
    if not backstops.looks_like_pbf(config.streets):
        # (`serve` refuses it, reading it whole; a glance at its header is enough here)
        return Finding(
            "streets",
            Verdict.FAIL,
            f"{config.streets} is not an OpenStreetMap .osm.pbf file: serve refuses to start "
            "(download one again: docs/streets.md)",
        )
    return Finding("streets", Verdict.OK, f"{config.streets} ({size:.1f} MB)")


def email_finding(config: Config, in_use: int = 0) -> Finding:
    """Whether people can choose "Email" (WWM_SMTP_URL), and whether its server answers:
    connected, TLS and signed in, nothing sent, so a wrong password is found now, not at
    night when an alarm's email doesn't arrive. `in_use`: how many email channels people
    have (without the setting, none of them gets anything: a failure)."""
    server = config.smtp
    if server is None and in_use:
        return Finding(
            "email alerts",
            Verdict.FAIL,
            f"WWM_SMTP_URL is not set, and people have {_n(in_use, 'email channel')}: they get "
            "no alerts (set it again, and serve mends them as it starts)",
        )
    if server is None:
        return Finding(
            "email alerts",
            Verdict.WARN,
            "not offered (WWM_SMTP_URL is not set): people get email only by an Apprise "
            "mailto:// URL with their own mail password",
        )
    try:
        mail.probe(server)
    except OSError as exc:  # smtplib's errors are OSErrors too
        return Finding(
            "email alerts",
            Verdict.FAIL,
            f"WWM_SMTP_URL, {server.said()}: {mail.why(exc)}; people's email alerts would "
            "not arrive",
        )
    return Finding("email alerts", Verdict.OK, f"offered, through {server.said()}")


def _public_url(config: Config, get: Getter) -> Finding:
    if not config.public_url:
        return Finding(
            "public address",
            Verdict.WARN,
            # Where the last `serve` of this folder listened (--port), as the links say it.
            f"WWM_PUBLIC_URL is not set: links in alerts say {served_at(config)}, which only "
            "this machine can open",
        )
    url = f"{config.public_url}/healthz"
    try:
        answer = get(url)
    except httpx2.HTTPError as exc:
        hint = (
            " (a certificate this machine doesn't trust, as Caddy's `tls internal` makes: "
            "docs/deploy.md#3-https-with-caddy says how to check it)"
            if "CERTIFICATE_VERIFY_FAILED" in str(exc)
            else ""
        )
        said = f"{url} can't be reached from here: {exc}{hint}"
        return Finding("public address", Verdict.FAIL, said)
    if answer.status_code in (502, 503, 504):
        return Finding(
            "public address",
            Verdict.FAIL,
            f"{url} answered {answer.status_code}: the proxy is up, but the service behind it "
            "does not answer it (not running, or at another address than the proxy's)",
        )
    if answer.status_code != 200:
        return Finding("public address", Verdict.FAIL, f"{url} answered {answer.status_code}")
    if not config.public_url.startswith("https://"):
        return Finding(
            "public address",
            Verdict.WARN,
            f"{config.public_url} answers, but without HTTPS browsers won't share a position, "
            "keep a service worker or take Web Push (docs/deploy.md)",
        )
    return Finding("public address", Verdict.OK, f"{config.public_url} answers")


FAILING_BEATS = 3  # in a row: a failure of the check (fewer, a warning)


def _heartbeat(config: Config, get: Getter) -> Finding:
    """Whether the running service's beats reach the dead man's switch, from its own
    /healthz here: a mistyped WWM_HEARTBEAT_URL failed every beat, said only in its log (an
    operator's review). Failing is a failure: the switch will raise its alarm."""
    url = f"{listening_at(config)}/healthz"
    try:
        health = get(url).json()
        shown = "heartbeat" in health
        beat = health.get("heartbeat")
    except (httpx2.HTTPError, ValueError, AttributeError):
        return Finding(
            "heartbeat",
            Verdict.WARN,
            f"no service answers at {url}: whether its beats arrive "
            "can't be told (run check beside a running serve)",
        )
    if not shown:  # (its details are for this machine's own address: api/auth.py)
        return Finding(
            "heartbeat",
            Verdict.WARN,
            f"{url} shows its heartbeat only to this machine's own address: run check where "
            "the service listens on 127.0.0.1",
        )
    if not isinstance(beat, dict):
        return Finding(
            "heartbeat",
            Verdict.WARN,
            "the running service sends none: it started before "
            "WWM_HEARTBEAT_URL was set (restart it)",
        )
    failing = int(beat.get("failing") or 0)
    if failing:  # (one missed beat a switch's grace forgives; three in a row, it won't)
        return Finding(
            "heartbeat",
            Verdict.FAIL if failing >= FAILING_BEATS else Verdict.WARN,
            f"the last {failing} beats failed "
            f"({beat.get('last_problem') or 'no answer'}): the dead man's switch will raise its "
            "alarm; check WWM_HEARTBEAT_URL",
        )
    if not beat.get("sent"):
        return Finding("heartbeat", Verdict.WARN, "no beat sent yet (one a minute)")
    return Finding("heartbeat", Verdict.OK, f"{beat['sent']} beats arrived, none failing")


def _apprise(config: Config) -> Finding:
    if not config.apprise_schemes:
        return Finding(
            "apprise",
            Verdict.WARN,
            "WWM_APPRISE_SCHEMES is empty: nobody can add an email, ntfy or Telegram channel "
            "(only webhooks and Web Push)",
        )
    unknown = [s for s in config.apprise_schemes if s not in apprise_schemes()]
    if unknown:
        return Finding(
            "apprise",
            Verdict.WARN,
            f"WWM_APPRISE_SCHEMES names {', '.join(unknown)}, which Apprise here doesn't know "
            "(a typo, or a plugin it can't load): nobody can add such a channel",
        )
    return Finding("apprise", Verdict.OK, f"channels by {', '.join(config.apprise_schemes)}")


def apprise_schemes() -> set[str]:
    """The URL schemes this Apprise can send to (a plugin whose library is missing is left
    out: it can't send)."""
    import apprise  # a hundred plugins: imported only when a check needs it

    known: set[str] = set()
    for plugin in apprise.Apprise().details()["schemas"]:
        for key in ("protocols", "secure_protocols"):
            named = plugin.get(key) or ()
            known.update([named] if isinstance(named, str) else named)
    return {s.lower() for s in known}
