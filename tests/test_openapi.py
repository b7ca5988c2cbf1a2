"""Issue 12, finding 10: the OpenAPI document says what the service really answers: every
operation's error answers with the one error body, and the clock's jump where it exists."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_services
from tests.people import PIN, Cast
from walkwithme.api.app import ERRORS, create_app
from walkwithme.clock import FakeClock
from walkwithme.config import load_config
from walkwithme.services import build_services


def test_every_operation_documents_the_errors_it_may_answer(
    sqlite_url: str, tmp_path: Path
) -> None:
    svc = make_services(sqlite_url, tmp_path, FakeClock())
    schema = create_app(svc).openapi()
    assert "/api/clock/jump" not in schema["paths"]  # the door doesn't exist here (404)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code in ERRORS:
                said = operation["responses"][code]
                ref = said["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (method, path, code)
    ask = schema["paths"]["/api/contacts"]["post"]["responses"]
    assert "202" in ask
    assert "201" not in ask
    svc.db.dispose()


def test_in_drill_mode_the_clock_jump_is_documented(sqlite_url: str, tmp_path: Path) -> None:
    config = load_config({"WWM_DATA": str(tmp_path / "data"), "WWM_DATABASE_URL": sqlite_url})
    svc = build_services(config, drill=True)
    assert svc.jumping_clock is not None
    schema = create_app(svc, manage=False).openapi()
    jump = schema["paths"]["/api/clock/jump"]["post"]
    assert jump["requestBody"]["content"]["application/json"]["schema"]
    assert "404" in jump["responses"]
    assert "403" in jump["responses"]
    svc.db.dispose()


HUGE = 1.7976931348623157e308


def test_numbers_too_large_to_use_are_refused_by_name_never_a_500(cast: Cast) -> None:
    """What the fuzzer found (PUT /api/me/keeping with days = -1.8e308 answered 500), and its
    kind elsewhere: a finite number whose arithmetic overflows is a 422 naming its field."""
    mira, noor, phone, walk = cast.walking()
    client = cast.client
    for value in (HUGE, -HUGE):
        tries = {
            "days": client.put("/api/me/keeping", json={"days": value}, headers=mira.auth),
            "hours": client.post(
                f"/api/walks/{walk['id']}/shares", json={"hours": value}, headers=mira.auth
            ),
            "pace": client.patch("/api/me", json={"pace": value}, headers=mira.auth),
            "radius": client.post(
                "/api/places",
                json={"name": "gym", "lat": 60.1, "lon": 24.9, "radius": value},
                headers=mira.auth,
            ),
            "minutes": client.post(
                f"/api/walks/{walk['id']}/extend",
                json={"pin": PIN, "minutes": value},
                headers=mira.auth,
            ),
        }
        for field, answer in tries.items():
            assert answer.status_code == 422, (field, value, answer.text)
            assert field in answer.json().get("field", ""), (field, answer.text)
