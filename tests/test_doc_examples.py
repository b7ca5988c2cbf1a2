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
