"""The docs' examples, run as written against a live service, so they stay true: the README's
"A walk, by hand" script (bash, curl and the operator's CLI)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service import Service
from walkwithme.config import load_config
from walkwithme.streets import shipped_helsinki

ROOT = Path(__file__).resolve().parent.parent
MARK = "<!-- run by tests/test_doc_examples.py -->"


def marked_scripts(page: Path) -> list[str]:
    text = page.read_text()
    return re.findall(re.escape(MARK) + r"\n```sh\n(.*?)```", text, re.DOTALL)


@pytest.mark.slow
def test_the_readmes_walk_by_hand_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    (script,) = marked_scripts(ROOT / "README.md")
    service = Service(tmp_path / "data").start()
    try:
        # The same script, pointed at this test's service; its commands find the service's
        # data through WWM_DATA, as an operator's would through their settings.
        here = script.replace("http://127.0.0.1:8000", service.url).replace(
            "wwm=.venv/bin/walkwithme", f"wwm='{sys.executable} -m walkwithme'"
        )
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + here],
            capture_output=True,
            env={**os.environ, "WWM_DATA": str(service.data)},
            text=True,
            timeout=120,
        )
    finally:
        service.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Noor follows the walk at {service.url}/walks/")
    assert lines[1:] == ["Noor sees: at_door", "The walk is: safe"]


def test_the_deploy_pages_settings_reach_commands_whole_through_wwm(tmp_path: Path) -> None:
    """docs/deploy.md's settings file, read by its `wwm` helper (with `sh`, as written but for
    sudo and the service's account): a value with spaces arrives whole, as systemd reads it,
    and every value is a setting the service takes."""
    helper, settings = marked_scripts(ROOT / "docs" / "deploy.md")
    streets = str(shipped_helsinki())
    env_file = tmp_path / "walkwithme.env"
    env_file.write_text(
        settings.replace("/var/lib/walkwithme/data", str(tmp_path / "data")).replace(
            "/var/lib/walkwithme/city.osm.pbf", streets
        )
    )
    here = (
        helper.replace("sudo ", "")
        .replace("runuser -u walkwithme -- ", "")
        .replace("/etc/walkwithme.env", str(env_file))
        .replace("/var/lib/walkwithme/app/.venv/bin/walkwithme", "env")  # prints what it got
    )
    done = subprocess.run(
        ["bash", "-c", here + "\nwwm"],
        capture_output=True,
        env={"PATH": os.environ["PATH"]},
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no part of a value taken for a command
    got = dict(line.split("=", 1) for line in done.stdout.splitlines() if line.startswith("WWM_"))
    assert got["WWM_RULES"] == "silent=4m, night.silent=150s"
    assert got["WWM_STREETS"] == streets
    config = load_config(got)
    assert config.profiles.night.silent_ms == 150_000
    assert config.public_url == "https://walk.example.org"
