"""Every setting of the service: its `WWM_` name, how its value is read (strictly: a bad
value names what is wrong), its default and its one-line help. docs/configuration.md lists
them all; a test keeps that page and `SETTINGS` in step. config.py reads them into `Config`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import platformdirs

from walkwithme.domain.errors import Invalid
from walkwithme.domain.profiles import (
    NIGHT_ENDS,
    NIGHT_STARTS,
    Overrides,
    night_hours,
    parse_line,
)
from walkwithme.notify.mail import SmtpServer
from walkwithme.notify.vapid import check_private_key, check_subject
from walkwithme.store.urls import database_url


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be a positive number, such as 1.5") from None
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def _port(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError("must be a port number (a whole number from 0 to 65535)") from None
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number (0 to 65535)")
    return value


def _owntracks_topics(text: str) -> str:
    """What OwnTracks phones publish to: `owntracks/<user>/<device>`, each of the last two a
    name or `+`. Its `/event` and `/request` are followed too (mqtt_bridge.py): a `#` can't
    have them appended (the broker refused the subscription, and nothing was followed)."""
    levels = text.strip().split("/")
    names = all(level == "+" or (level and not {"+", "#"} & set(level)) for level in levels)
    if len(levels) != 3 or levels[0] != "owntracks" or not names:
        raise ValueError(
            "must be owntracks/<user>/<device> as OwnTracks publishes, each of the last two a "
            "name or +, such as owntracks/+/+ (no #: its /event and /request are followed too)"
        )
    return text.strip()


def _schemes(text: str) -> tuple[str, ...]:
    schemes = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    if not all(p.isalnum() for p in schemes):
        raise ValueError("must be scheme names separated by commas")
    return schemes


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _log_level(text: str) -> str:
    level = text.strip().lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _url(text: str) -> str:
    text = text.strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    try:
        urlsplit(text).port  # noqa: B018 (read for the ValueError a port that is none raises)
    except ValueError:
        raise ValueError("has a port that is no port (a number from 1 to 65535)") from None
    return text


def _public_url(text: str) -> str:
    """Where people reach the service: a host of its own, never under a path (its pages and
    API are at the root: `https://example.org/walk` printed invite links there, and its pages
    sent people to `/signin`, outside it: an operator's review)."""
    url = _url(text)
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            "must be the service's own address, without a path (it serves its pages and API "
            "at the root: give it a host name of its own, such as https://walk.example.org)"
        )
    return url


def _days(text: str) -> float:
    """A number of days: `7`, `0.5`, `0` (as soon as the walk is over)."""
    try:
        value = float(text.strip().removesuffix("d"))
    except ValueError:
        raise ValueError("must be a number of days, such as 7 or 0.5") from None
    if not 0 <= value <= 3650:
        raise ValueError("must be from 0 to 3650 days")
    return value


def _street_file(text: str) -> Path | None:
    if not text.strip():
        return None
    path = Path(text.strip())
    if not path.is_file():
        raise ValueError("no such file (give the path of an .osm.pbf, or nothing)")
    return path


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """`mqtt://[user:password@]host[:port]`."""
        parts = urlsplit(url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError("must be mqtt://[user:password@]host[:port]")
        return cls(
            host=parts.hostname,
            port=parts.port or 1883,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _tiles_url(text: str) -> str:
    url = text.strip()
    if url and (urlsplit(url).scheme not in ("http", "https") or "{z}" not in url):
        raise ValueError("must be an http(s) URL template with {z}, {x} and {y}")
    return url


def _phone_number(text: str) -> str:
    number = "".join(text.split()).replace("-", "")
    if number and not (number.lstrip("+").isdigit() and 2 <= len(number.lstrip("+")) <= 15):
        raise ValueError("must be a phone number, digits with an optional leading +, like 112")
    return number


def _mqtt_url(text: str) -> str:
    if text.strip():
        Broker.from_url(text.strip())
    return text.strip()


def _smtp_url(text: str) -> SmtpServer | None:
    return SmtpServer.from_url(text) if text.strip() else None


def _rules(text: str) -> Overrides:
    try:
        return parse_line(text, "rules")
    except Invalid as exc:
        raise ValueError(exc.message) from None


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    secret: bool = False  # never repeated in an error message (keys, passwords, capability URLs)


# Where the data lives unless told: one folder per user account, whatever folder a command runs
# from, so `serve` and every other command agree (a relative default made each folder its own
# empty service).
DEFAULT_DATA = platformdirs.user_data_path("walkwithme")
# Where earlier releases kept it, relative to the folder a command ran from: still used when it
# holds a database, so nobody's walks vanish on upgrade (and every command says so).
LEGACY_DATA = Path("walkwithme-data")

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "WWM_DATA",
        str,
        "",
        "Folder for the SQLite database and the service's keys; empty: the per-user data "
        "folder (~/.local/share/walkwithme on Linux).",
    ),
    Setting(
        "WWM_DATABASE_URL",
        database_url,
        "",
        "SQLAlchemy URL of the database; empty means SQLite in WWM_DATA. For PostgreSQL: "
        "postgresql+psycopg://user@host/dbname.",
        secret=True,
    ),
    Setting("WWM_HOST", str, "127.0.0.1", "Address to listen on."),
    Setting("WWM_PORT", _port, 8000, "Port to listen on."),
    Setting(
        "WWM_PUBLIC_URL",
        _public_url,
        "",
        "Address people reach the service at, used in links; empty means http://HOST:PORT.",
    ),
    Setting("WWM_OPEN_SIGNUP", _bool, False, "Let anyone sign up, without an invite."),
    Setting(
        "WWM_TILES_URL",
        _tiles_url,
        "",
        "Map tiles drawn under the pages' maps, as a URL template with {z}, {x} and {y}; "
        "empty: no tile server is contacted (streets come from WWM_STREETS).",
    ),
    Setting(
        "WWM_CLOCK_SPEED",
        _positive_float,
        1.0,
        "Run the service's clock this many times faster than real time (demos and drills).",
    ),
    Setting("WWM_SESSION_DAYS", _positive_float, 30.0, "How long a sign-in lasts."),
    Setting("WWM_LOG_LEVEL", _log_level, "info", "Log level: debug, info, warning, error."),
    Setting(
        "WWM_EMERGENCY_HOOK",
        lambda text: _url(text) if text.strip() else "",
        "",
        "URL the last rung of an alarm's escalation is posted to (signed JSON); it may be on a "
        "private address (`walkwithme hook test` tries it).",
        secret=True,
    ),
    Setting(
        "WWM_EMERGENCY_NUMBER",
        _phone_number,
        "112",
        "The emergency number the pages offer to call, as a link that dials it, where someone "
        "may be in danger: a companion's alarm, an SOS that can't be sent. 112 works in Europe "
        "and from most mobile phones; empty: the pages only say to call the emergency number.",
    ),
    Setting(
        "WWM_HOOK_SECRET",
        str,
        "",
        "Secret that signs what is posted to WWM_EMERGENCY_HOOK.",
        secret=True,
    ),
    Setting(
        "WWM_ALLOW_PRIVATE_ADDRESSES",
        _bool,
        False,
        "Let webhooks, Apprise URLs and push endpoints reach private and loopback addresses.",
    ),
    Setting(
        "WWM_HEARTBEAT_URL",
        lambda text: _url(text) if text.strip() else "",
        "",
        "URL of an external dead man's switch, pinged while the watchdog is alive.",
        secret=True,
    ),
    Setting(
        "WWM_CATCH_UP_SECONDS",
        _positive_float,
        5.0,
        "After a restart, the longest the port stays closed while the watchdog judges what "
        "fell due and the notifier sends what that made.",
    ),
    Setting(
        "WWM_HEARTBEAT_SECONDS",
        _positive_float,
        60.0,
        "Seconds between heartbeats to WWM_HEARTBEAT_URL.",
    ),
    Setting(
        "WWM_SMTP_URL",
        _smtp_url,
        None,
        "The operator's mail server, which sends people's email alerts (they give only their "
        "address): smtp://user:password@host:587?from=walks@example.org (STARTTLS), "
        "smtps://...:465 (TLS), or smtp://127.0.0.1:25?from=... (a relay on this machine). "
        "Empty: no email channel (an Apprise mailto:// URL still works).",
        secret=True,
    ),
    Setting(
        "WWM_APPRISE_SCHEMES",
        _schemes,
        ("mailto", "mailtos", "ntfy", "ntfys", "tgram", "matrix", "matrixs", "signal", "signals"),
        "Comma-separated Apprise URL schemes people may use for their channels.",
    ),
    Setting(
        "WWM_VAPID_PRIVATE_KEY",
        check_private_key,
        "",
        "The P-256 key that signs Web Push (PEM, or 32 bytes in base64url); empty: made on "
        "first use and kept in WWM_DATA/vapid.pem.",
        secret=True,
    ),
    Setting(
        "WWM_VAPID_SUBJECT",
        check_subject,
        "",
        "How a push service can reach the operator (mailto: or https://); empty: WWM_PUBLIC_URL.",
    ),
    Setting(
        "WWM_STREETS",
        _street_file,
        None,
        "Path of an OpenStreetMap extract (.osm.pbf) to route walks along its streets; empty "
        "means no streets (expected arrival and progress by the straight line).",
    ),
    Setting(
        "WWM_METRICS_TOKEN",
        str,
        "",
        "A token that lets a monitor on another machine read /metrics and the details of "
        "/healthz (Authorization: Bearer ...); from this machine they need none.",
        secret=True,
    ),
    Setting(
        "WWM_MQTT_URL",
        _mqtt_url,
        "",
        "The MQTT broker that OwnTracks phones publish to, mqtt://[user:password@]host[:port]; "
        "empty: OwnTracks over HTTP only.",
        secret=True,
    ),
    Setting(
        "WWM_MQTT_TOPICS",
        _owntracks_topics,
        "owntracks/+/+",
        "What the server follows on WWM_MQTT_URL: owntracks/<user>/<device>, each a name or +.",
    ),
    Setting(
        "WWM_MQTT_CLIENT_ID",
        str,
        "walkwithme",
        "The server's MQTT client id: its persistent session on the broker (one per server).",
    ),
    Setting(
        "WWM_RULES",
        _rules,
        {},
        "The watchdog's thresholds for every walk on this server, as name=duration pairs: "
        "'silent=4m, night.silent=150s, late_grace_percent=20' (a name alone sets both the day "
        "and the night profile); a person and a walk may change them in turn. Empty: the "
        "built-in ones (docs/alarms.md).",
    ),
    Setting(
        "WWM_KEEP_WALKS_DAYS",
        _days,
        7.0,
        "Days a walk's track is kept after it ends safely, for walkers who chose nothing "
        "(0: as soon as it ends).",
    ),
    Setting(
        "WWM_KEEP_WALKS_MOST_DAYS",
        _days,
        30.0,
        "The longest a walker may choose to keep her walks' tracks.",
    ),
    Setting(
        "WWM_KEEP_ALARMED_WALKS_DAYS",
        _days,
        90.0,
        "Days a walk that had an alarm is kept after it ends, whatever its walker chose.",
    ),
    Setting(
        "WWM_NIGHT_HOURS",
        night_hours,
        (NIGHT_STARTS, NIGHT_ENDS),
        "Local hours of the stricter night profile, from-to, by each walker's own time zone.",
    ),
)
BY_NAME = {s.name: s for s in SETTINGS}
# `WWM_` names that are not settings of the service but are read elsewhere: the config file's
# path, the commands' own options (`export`'s, `replay`'s device token), and the test suite's
# (which browser, where screenshots go).
OTHER_NAMES = frozenset(
    {
        "WWM_CONFIG",
        "WWM_TOKEN",
        "WWM_SERVER",
        "WWM_DEVICE_TOKEN",
        "WWM_TEST_POSTGRES",
        "WWM_SCREENSHOTS",
        "WWM_CHROMIUM",
    }
)
