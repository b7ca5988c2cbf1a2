"""Issue 12, finding 10: the OpenAPI document says what the service really answers: every
operation's error answers with the one error body, and the clock's jump where it exists."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_services
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
