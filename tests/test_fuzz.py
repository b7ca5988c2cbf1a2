"""Issue 12: a bounded schemathesis run against the live service (a real `walkwithme serve`,
over HTTP) finds no 5xx and no answer that breaks the OpenAPI document. The seed is printed
(and named in any failure): replay a run with `WWM_FUZZ_SEED=<seed>`; `WWM_FUZZ_EXAMPLES`
sets how many cases per operation (20: about 2,600 requests, well under a minute here)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.service import Service, cli

SEED = int(os.environ.get("WWM_FUZZ_SEED") or random.randrange(2**31))
EXAMPLES = int(os.environ.get("WWM_FUZZ_EXAMPLES", "20"))
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
# Doors that would end the run's own sign-in or account.
SPARED = ("/api/me/delete", "/api/session")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = Service(tmp_path / "data")
    yield svc
    svc.stop()


@pytest.mark.slow
def test_a_bounded_fuzz_run_finds_no_5xx_and_no_schema_violation(service: Service) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is in the test extras"
    mira = cli(service.data, "people", "add", "mira@example.org", "--name", "Mira")
    cli(service.data, "devices", "add", "mira@example.org", "phone")
    service.start()
    signed = httpx2.post(
        f"{service.url}/api/session",
        json={"email": mira["email"], "password": mira["password"]},
    )
    assert signed.status_code == 200, signed.text
    token = signed.json()["token"]
    print(f"schemathesis seed: {SEED} (replay: WWM_FUZZ_SEED={SEED})")
    command = [
        st,
        "run",
        f"{service.url}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--request-timeout",
        "10",
        "--header",
        f"Authorization: Bearer {token}",
        *(arg for path in SPARED for arg in ("--exclude-path", path)),
    ]
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=service.data.parent,  # its cache of cases stays in the test's own folder
    )
    print(run.stdout[-1500:])
    assert run.returncode == 0, f"seed {SEED}:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
