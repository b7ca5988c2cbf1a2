"""Settings: environment variables (`WWM_...`), optionally a TOML file, strict and loud.

A bad value stops start-up with a message naming the variable. Any setting can also be read
from a file by adding `_FILE` to its name (for secrets kept in files). The settings themselves,
each with its reader, default and help, are in settings.py.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from walkwithme.domain.keeping import DAY_MS, Keeping
from walkwithme.domain.profiles import (
    DEFAULT_PROFILES,
    Overrides,
    Profiles,
    apply,
)
from walkwithme.notify.mail import SmtpServer
from walkwithme.settings import (
    BY_NAME,
    DEFAULT_DATA,
    LEGACY_DATA,
    OTHER_NAMES,
    SETTINGS,
)


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    host: str
    port: int
    public_url: str
    open_signup: bool
    clock_speed: float
    session_days: float
    log_level: str
    emergency_hook: str = ""
    emergency_number: str = "112"  # the pages' "Call 112" (an empty one: only words)
    hook_secret: str = ""
    allow_private_addresses: bool = False
    apprise_schemes: tuple[str, ...] = ()
    smtp: SmtpServer | None = None  # people's email channels, when the operator sets one
    heartbeat_url: str = ""
    heartbeat_seconds: float = 60.0
    catch_up_seconds: float = 5.0  # after a restart, the longest the port stays closed
    vapid_private_key: str = field(default="", repr=False)
    push_subject: str = ""
    streets: Path | None = None
    profiles: Profiles = DEFAULT_PROFILES  # the rules' thresholds, as the operator set them
    metrics_token: str = field(default="", repr=False)
    mqtt_url: str = field(default="", repr=False)
    mqtt_topics: str = "owntracks/+/+"
    mqtt_client_id: str = "walkwithme"
    tiles_url: str = ""  # the pages' maps draw no tiles unless the operator names a server
    keeping: Keeping = field(default_factory=Keeping)  # how long walks are kept after they end
    data_from: str = "WWM_DATA"  # where the data folder's choice came from, said by commands
    warnings: tuple[str, ...] = ()  # settings that look misspelled: said, then ignored

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def vapid_subject(self) -> str:
        return self.push_subject or self.base_url


def _raw_values(env: Mapping[str, str], toml_path: str | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if toml_path:
        try:
            table = tomllib.loads(Path(toml_path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"WWM_CONFIG: can't read {toml_path}: {exc}") from exc
        for key, value in table.items():
            name = "WWM_" + key.upper()
            if name not in BY_NAME:
                keys = sorted(n.removeprefix("WWM_").lower() for n in BY_NAME)
                close = difflib.get_close_matches(str(key).lower(), keys, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"{toml_path}: unknown setting {key!r}{hint}")
            values[name] = str(value).lower() if isinstance(value, bool) else str(value)
    for setting in SETTINGS:
        file_var = setting.name + "_FILE"
        if file_var in env:
            try:
                values[setting.name] = Path(env[file_var]).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{file_var}: can't read {env[file_var]}: {exc}") from exc
        if setting.name in env:
            values[setting.name] = env[setting.name]
    return values


def unknown_names(env: Mapping[str, str]) -> tuple[str, ...]:
    """A line for each `WWM_` variable that is no setting (a typo would otherwise be silently
    ignored: `WWM_EMERGENCY_HOKO` is no emergency hook), with the setting it most resembles."""
    known = set(BY_NAME) | {n + "_FILE" for n in BY_NAME} | OTHER_NAMES
    lines = []
    for name in sorted(n for n in env if n.startswith("WWM_") and n not in known):
        close = difflib.get_close_matches(name, sorted(BY_NAME), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"{name} is not a setting{hint}; it is ignored (docs/configuration.md)")
    return tuple(lines)


def _data_folder(given: str) -> tuple[Path, str]:
    if given:
        return Path(given), "WWM_DATA"
    if (LEGACY_DATA / "walkwithme.db").is_file():
        return LEGACY_DATA, "found here: the folder earlier releases used; set WWM_DATA to keep it"
    return DEFAULT_DATA, "the per-user default; WWM_DATA or --data to change it"


def load_config(env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Read the settings; `overrides` (from command-line options) win over everything."""
    env = os.environ if env is None else env
    raw = _raw_values(env, env.get("WWM_CONFIG"))
    parsed: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in raw:
            try:
                parsed[setting.name] = setting.parse(raw[setting.name])
            except ValueError as exc:
                shown = "(hidden)" if setting.secret else repr(raw[setting.name])
                raise ConfigError(f"{setting.name}={shown}: {exc}") from None
        else:
            parsed[setting.name] = setting.default
    for key, value in overrides.items():
        if value is not None:
            parsed["WWM_" + key.upper()] = value
    data_dir, data_from = _data_folder(parsed["WWM_DATA"])
    if overrides.get("data") is not None:
        data_from = "--data"
    elif parsed["WWM_DATA"] and not {"WWM_DATA", "WWM_DATA_FILE"} & set(env):
        data_from = f"the config file {env.get('WWM_CONFIG')}"
    url = parsed["WWM_DATABASE_URL"] or f"sqlite:///{data_dir / 'walkwithme.db'}"
    return Config(
        data_dir=data_dir,
        database_url=url,
        host=parsed["WWM_HOST"],
        port=parsed["WWM_PORT"],
        public_url=parsed["WWM_PUBLIC_URL"],
        open_signup=parsed["WWM_OPEN_SIGNUP"],
        clock_speed=parsed["WWM_CLOCK_SPEED"],
        session_days=parsed["WWM_SESSION_DAYS"],
        log_level=parsed["WWM_LOG_LEVEL"],
        emergency_hook=parsed["WWM_EMERGENCY_HOOK"],
        emergency_number=parsed["WWM_EMERGENCY_NUMBER"],
        hook_secret=parsed["WWM_HOOK_SECRET"],
        allow_private_addresses=parsed["WWM_ALLOW_PRIVATE_ADDRESSES"],
        apprise_schemes=parsed["WWM_APPRISE_SCHEMES"],
        smtp=_greeting(parsed["WWM_SMTP_URL"], parsed["WWM_PUBLIC_URL"]),
        heartbeat_url=parsed["WWM_HEARTBEAT_URL"],
        heartbeat_seconds=parsed["WWM_HEARTBEAT_SECONDS"],
        catch_up_seconds=parsed["WWM_CATCH_UP_SECONDS"],
        vapid_private_key=parsed["WWM_VAPID_PRIVATE_KEY"],
        push_subject=parsed["WWM_VAPID_SUBJECT"],
        streets=parsed["WWM_STREETS"],
        profiles=_operator_profiles(parsed["WWM_RULES"], parsed["WWM_NIGHT_HOURS"]),
        metrics_token=parsed["WWM_METRICS_TOKEN"],
        mqtt_url=parsed["WWM_MQTT_URL"],
        mqtt_topics=parsed["WWM_MQTT_TOPICS"],
        mqtt_client_id=parsed["WWM_MQTT_CLIENT_ID"],
        tiles_url=parsed["WWM_TILES_URL"],
        keeping=_keeping(
            parsed["WWM_KEEP_WALKS_DAYS"],
            parsed["WWM_KEEP_WALKS_MOST_DAYS"],
            parsed["WWM_KEEP_ALARMED_WALKS_DAYS"],
        ),
        data_from=data_from,
        warnings=unknown_names(env)
        + _unreachable_pages(parsed["WWM_HOST"], parsed["WWM_PUBLIC_URL"]),
    )


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _unreachable_pages(host: str, public_url: str | None) -> tuple[str, ...]:
    """Listening for other machines without saying its public address: browsers there can't
    use the pages (their cookie requests are compared with that address: api/auth.py)."""
    if host in _LOOPBACK or public_url:
        return ()
    return (
        f"WWM_HOST={host} takes requests from other machines, but WWM_PUBLIC_URL is not set: "
        "their browsers' pages will be refused and links in alerts will name this machine's "
        "own address; set WWM_PUBLIC_URL to the address people use (docs/deploy.md)",
    )


def _greeting(smtp: SmtpServer | None, public_url: str) -> SmtpServer | None:
    """The mail server greets with the public address's name, where one is set (some refuse
    a name that isn't a full one; the machine's own may be anything)."""
    if smtp is None or not public_url:
        return smtp
    return smtp.greeting_as(urlsplit(public_url).hostname)


def _keeping(default: float, most: float, alarmed: float) -> Keeping:
    if default > most:
        raise ConfigError(
            f"WWM_KEEP_WALKS_DAYS={default:g} is more than WWM_KEEP_WALKS_MOST_DAYS={most:g}"
        )
    return Keeping(
        default_ms=round(default * DAY_MS),
        most_ms=round(most * DAY_MS),
        alarmed_ms=round(alarmed * DAY_MS),
    )


def _operator_profiles(rules: Overrides, hours: tuple[int, int]) -> Profiles:
    starts, ends = hours
    return apply(replace(DEFAULT_PROFILES, night_starts=starts, night_ends=ends), rules)
