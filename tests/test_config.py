"""Settings: strict, loud, documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from walkwithme.config import ConfigError, load_config, unknown_names
from walkwithme.settings import DEFAULT_DATA, SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def test_the_defaults_need_no_settings_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no folder of an earlier release here
    config = load_config({})
    assert config.data_dir == DEFAULT_DATA  # the same from whatever folder a command runs
    assert config.database_url == f"sqlite:///{DEFAULT_DATA / 'walkwithme.db'}"
    assert (config.host, config.port, config.open_signup) == ("127.0.0.1", 8000, False)
    assert config.base_url == "http://127.0.0.1:8000"
    assert config.emergency_number == "112"  # Europe's, and most mobile phones' anywhere


def test_an_emergency_number_is_kept_as_it_dials() -> None:
    assert load_config({"WWM_EMERGENCY_NUMBER": " 9 1 1 "}).emergency_number == "911"
    assert load_config({"WWM_EMERGENCY_NUMBER": "+44-999"}).emergency_number == "+44999"
    assert load_config({"WWM_EMERGENCY_NUMBER": ""}).emergency_number == ""


def test_one_owntracks_users_phones_may_be_followed() -> None:
    assert load_config({"WWM_MQTT_TOPICS": "owntracks/campus/+"}).mqtt_topics == (
        "owntracks/campus/+"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WWM_PORT", "eighty"),
        ("WWM_PORT", "70000"),
        ("WWM_OPEN_SIGNUP", "maybe"),
        ("WWM_CLOCK_SPEED", "-2"),
        ("WWM_CATCH_UP_SECONDS", "0"),
        ("WWM_PUBLIC_URL", "walk.example.org"),
        ("WWM_PUBLIC_URL", "https://example.org/walk"),  # its pages are at the root
        ("WWM_EMERGENCY_NUMBER", "police"),
        ("WWM_EMERGENCY_NUMBER", "1"),
        # Followed with its /event: the broker refused the subscription, and no phone on
        # MQTT was heard while the service said it was connected (an outside review).
        ("WWM_MQTT_TOPICS", "owntracks/#"),
        ("WWM_MQTT_TOPICS", "owntracks/+"),
        ("WWM_MQTT_TOPICS", "ot/+/+"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config({name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WWM_VAPID_PRIVATE_KEY", "-----BEGIN EC PRIVATE KEY-----not-a-key-but-secret"),
        ("WWM_HEARTBEAT_URL", "hc-ping.example/secret-uuid"),
        ("WWM_EMERGENCY_HOOK", "ops.example/hook?token=secret"),
        # A port that is no port: `check` fell over it with a trace (a diff review).
        ("WWM_EMERGENCY_HOOK", "http://127.0.0.1:99999/hook?token=secret"),
        ("WWM_HEARTBEAT_URL", "https://hc-ping.example:80a/secret-uuid"),
    ],
)
def test_a_bad_secret_is_named_but_never_repeated(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as refused:
        load_config({name: value})
    assert "secret" not in str(refused.value)


def test_a_setting_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "db-url"
    secret.write_text("postgresql+psycopg://wwm@db/wwm\n")
    config = load_config({"WWM_DATABASE_URL_FILE": str(secret)})
    assert config.database_url == "postgresql+psycopg://wwm@db/wwm"


def test_settings_can_come_from_a_toml_file(tmp_path: Path) -> None:
    toml = tmp_path / "wwm.toml"
    toml.write_text('port = 9000\nopen_signup = true\npublic_url = "https://walk.example.org"\n')
    config = load_config({"WWM_CONFIG": str(toml), "WWM_PORT": "9100"})
    assert config.port == 9100  # the environment wins over the file
    assert config.open_signup is True
    assert config.base_url == "https://walk.example.org"
    toml.write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="colour"):
        load_config({"WWM_CONFIG": str(toml)})
    # A typo is said with what was meant, as a misspelled WWM_ variable is.
    toml.write_text("prot = 9000\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'prot' \(did you mean 'port'\?\)"):
        load_config({"WWM_CONFIG": str(toml)})
    # A command says where its data folder was chosen: here, by the file.
    toml.write_text(f'data = "{tmp_path / "data"}"\n')
    assert load_config({"WWM_CONFIG": str(toml)}).data_from == f"the config file {toml}"
    assert load_config({"WWM_CONFIG": str(toml), "WWM_DATA": "x"}).data_from == "WWM_DATA"


def test_every_setting_is_documented() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`(WWM_[A-Z_]+)`", page))
    assert {s.name for s in SETTINGS} <= documented
    from_files = {s.name + "_FILE" for s in SETTINGS}
    # Besides the settings: the config file's variable, a setting read from a file, and the
    # misspelling the page shows as an example.
    assert documented - {s.name for s in SETTINGS} - from_files <= {"WWM_CONFIG", "WWM_PROT"}


def test_a_misspelled_setting_is_named_and_the_names_read_elsewhere_are_not() -> None:
    """`replay`'s device token and the tests' browser are read where they are used: a command
    must not warn of them as misspelled settings."""
    said = unknown_names(
        {"WWM_PROT": "9000", "WWM_DEVICE_TOKEN": "t", "WWM_CHROMIUM": "/usr/bin/chromium"}
    )
    assert said == (
        "WWM_PROT is not a setting (did you mean WWM_PORT?); it is ignored (docs/configuration.md)",
    )


def test_a_public_address_under_a_path_is_refused_saying_why() -> None:
    """`https://example.org/walk` was taken: invite links went there, and its pages sent
    people to `/signin`, outside it (an operator's review)."""
    with pytest.raises(ConfigError, match="without a path") as refused:
        load_config({"WWM_PUBLIC_URL": "https://example.org/walk"})
    assert "https://walk.example.org" in str(refused.value)
    assert load_config({"WWM_PUBLIC_URL": "https://walk.example.org/"}).public_url == (
        "https://walk.example.org"
    )
