"""docs/deploy.md's Caddy set-up, for real: Debian's Caddy in front of the service with local
HTTPS, a phone posting through it (OwnTracks and Traccar Client), her companion following on
the WebSocket through it, and the operator's counts not given to the world through the proxy.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from websockets.sync.client import connect

from tests.people import START
from tests.service import Service
from tests.test_service_e2e import prepare, receive
from walkwithme.net import free_port

READY_WITHIN_S = 30.0  # a bound for Caddy's start (it makes its local CA), not a timing test
DOCS = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"


def caddy_or_skip() -> str:
    found = shutil.which("caddy")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Caddy is missing: .ci/run installs Debian's caddy package")
        pytest.skip("Caddy is not installed (apt-get install caddy)")
    return found


def the_docs_caddyfile() -> str:
    """The Caddyfile docs/deploy.md gives, so the test runs what the operator copies."""
    page = DOCS.read_text()
    start = page.index("```caddyfile\n") + len("```caddyfile\n")
    return page[start : page.index("```", start)]


@pytest.fixture
def behind_caddy(tmp_path: Path) -> Iterator[tuple[Service, str, ssl.SSLContext]]:
    caddy = caddy_or_skip()
    https_port, http_port = free_port(), free_port()
    public = f"https://localhost:{https_port}"
    service = Service(tmp_path / "data", env={"WWM_PUBLIC_URL": public})
    home = tmp_path / "caddy"
    home.mkdir()
    site = the_docs_caddyfile().replace("walk.example.org", f"localhost:{https_port}")
    site = site.replace("127.0.0.1:8000", f"127.0.0.1:{service.port}")
    # For the test only: Caddy's own certificate authority instead of Let's Encrypt, its files
    # and ports in the test's folder, and no trust store to install into.
    site = site.replace("{\n", "{\n\ttls internal\n", 1)
    config = (
        f"{{\n\tadmin off\n\tskip_install_trust\n\tauto_https disable_redirects\n"
        f"\thttp_port {http_port}\n\thttps_port {https_port}\n"
        f"\tstorage file_system {home / 'storage'}\n}}\n\n{site}"
    )
    (home / "Caddyfile").write_text(config)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
    }
    log = (home / "caddy.log").open("w")
    proc = subprocess.Popen(
        [caddy, "run", "--config", str(home / "Caddyfile"), "--adapter", "caddyfile"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        root = home / "storage" / "pki" / "authorities" / "local" / "root.crt"
        deadline = time.monotonic() + READY_WITHIN_S
        while not root.exists():
            assert proc.poll() is None, (home / "caddy.log").read_text()
            assert time.monotonic() < deadline, (home / "caddy.log").read_text()
            time.sleep(0.05)  # waiting for Caddy to make its CA, not for a deadline
        trust = ssl.create_default_context(cafile=str(root))
        yield service, public, trust
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        service.stop()


@pytest.mark.slow
def test_phones_and_companions_reach_the_service_through_caddy_over_https(
    behind_caddy: tuple[Service, str, ssl.SSLContext],
) -> None:
    service, public, trust = behind_caddy
    _, as_noor, phone, walk_id = prepare(service)  # the operator's CLI, then the API
    web = httpx2.Client(base_url=public, verify=trust, timeout=10)
    deadline = time.monotonic() + READY_WITHIN_S
    while True:  # Caddy's certificate for the site comes a moment after its CA
        try:
            assert web.get("/healthz").status_code == 200
            break
        except (httpx2.ConnectError, ssl.SSLError):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    signed_in = web.post(
        "/api/session", json={"email": "noor@example.org", "password": "wrong password!"}
    )
    assert signed_in.status_code == 401  # through the proxy, the service answers as itself
    live = public.replace("https", "wss") + f"/api/walks/{walk_id}/live"
    with connect(live, additional_headers=as_noor, ssl=trust) as ws:
        assert receive(ws, "walk")["walk"]["walker"]["name"] == "Mira"
        now = int(web.get("/healthz").json()["now"]) // 1000
        owntracks = {
            "_type": "location",
            "lat": START[0] - 0.001,
            "lon": START[1],
            "tst": now,
            "acc": 8,
            "tid": "MI",
        }
        posted = web.post(
            "/api/owntracks",
            content=json.dumps(owntracks),
            headers={
                "Authorization": "Basic " + base64.b64encode(f"mira:{phone}".encode()).decode(),
                "Content-Type": "application/json",
            },
        )
        assert posted.status_code == 200, posted.text
        assert receive(ws, "fix")["fix"]["lat"] == pytest.approx(START[0] - 0.001)
        traccar = web.post(
            f"/api/traccar?id={phone}&timestamp={now + 5}&lat={START[0] - 0.002}&lon={START[1]}"
        )
        assert traccar.status_code == 200
        assert receive(ws, "fix")["fix"]["lat"] == pytest.approx(START[0] - 0.002)
    # The service sees the client's own address, not the proxy's: the operator's counts, open
    # to this machine, are not open to others through Caddy. (127.0.0.2 stands for another
    # machine: the service opens them to 127.0.0.1 and ::1 only.)
    elsewhere = httpx2.Client(
        base_url=public,
        transport=httpx2.HTTPTransport(verify=trust, local_address="127.0.0.2"),
        timeout=10,
    )
    with elsewhere:
        assert elsewhere.get("/healthz").status_code == 200
        assert elsewhere.get("/metrics").status_code in (401, 403, 404)
    assert web.get("/metrics").status_code == 200  # this machine, through Caddy too
    web.close()
