"""The operator's hand on one account from the command line: a new password printed once,
disable and enable (docs/cli.md), checked on the data they changed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.service import WWM, cli
from walkwithme.clock import FakeClock
from walkwithme.config import load_config
from walkwithme.security import verify_secret
from walkwithme.services import build_services
from walkwithme.usecases import accounts, people


def test_reset_disable_and_enable_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    mira = cli(data, "people", "add", "mira@example.org", "--name", "Mira")
    reset = cli(data, "people", "reset-password", "mira@example.org")
    assert reset["password"] not in (None, mira["password"])
    chosen = cli(
        data,
        "people",
        "reset-password",
        "mira@example.org",
        "--password-stdin",
        stdin="a long chosen password\n",
    )
    assert chosen["password"] is None
    assert cli(data, "people", "disable", "mira@example.org")["disabled"] is True
    listed = subprocess.run(
        [*WWM, "people", "list", "--data", str(data), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert '"status": "disabled"' in listed.stdout
    svc = build_services(load_config({"WWM_DATA": str(data)}), FakeClock())
    try:
        found = svc.db.read_sync(lambda c: accounts.password_hash_of(c, "mira@example.org"))
        assert found is not None
        assert verify_secret(found[1], "a long chosen password")
        refusal = svc.db.read_sync(lambda c: people.sign_in_refusal(c, found[0]))
        assert refusal == "this account is disabled: ask the server's operator"
        cli(data, "people", "enable", "mira@example.org")
        assert svc.db.read_sync(lambda c: people.sign_in_refusal(c, found[0])) is None
    finally:
        svc.db.dispose()
    unknown = subprocess.run(
        [*WWM, "people", "disable", "nobody@example.org", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 1
    assert "nobody with the email nobody@example.org" in unknown.stderr
    short = subprocess.run(
        [
            *WWM,
            "people",
            "reset-password",
            "mira@example.org",
            "--password-stdin",
            "--data",
            str(data),
        ],
        input="short\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert short.returncode == 1
    assert "at least 10 characters" in short.stderr


def test_the_commands_are_documented() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    for command in ("people reset-password", "people disable", "people enable"):
        assert f"walkwithme {command}" in page, command
