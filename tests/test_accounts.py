"""Signing up (invite-only by default), signing in and out, and one's own profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_services
from tests.people import Cast
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.domain.errors import Invalid
from walkwithme.domain.people import check_timezone
from walkwithme.store.schema import people

NEW = {"email": "ada@example.org", "name": "Ada", "password": "long enough password"}


def test_sign_up_needs_an_invite_by_default(cast: Cast) -> None:
    refused = cast.client.post("/api/signup", json=NEW)
    assert refused.status_code == 403
    assert refused.json()["field"] == "invite"


def test_an_invite_from_the_operator_works_once(cast: Cast) -> None:
    ola = cast.person("Ola", operator=True)
    invite = cast.client.post("/api/invites", headers=ola.auth).json()["invite"]
    made = cast.client.post("/api/signup", json={**NEW, "invite": invite})
    assert made.status_code == 201, made.text
    assert made.json()["person"]["name"] == "Ada"
    again = cast.client.post(
        "/api/signup", json={**NEW, "email": "bea@example.org", "invite": invite}
    )
    assert again.status_code == 403


def test_an_invite_answers_whether_an_address_has_an_account_once(cast: Cast) -> None:
    """Tried with an address that has an account, an invite says so (409) and is used up:
    whoever holds one invite could otherwise learn which of any number of addresses have
    accounts here (an outside review tried it), which is nobody's business."""
    ola = cast.person("Ola", operator=True)
    cast.person("Mira")
    invite = cast.client.post("/api/invites", headers=ola.auth).json()["invite"]
    taken = cast.client.post(
        "/api/signup", json={**NEW, "email": "mira@example.org", "invite": invite}
    )
    assert taken.status_code == 409
    assert taken.json() == {"error": "an account with this email exists already", "field": "email"}
    again = cast.client.post("/api/signup", json={**NEW, "invite": invite})
    assert again.status_code == 403
    assert again.json()["field"] == "invite"
    assert cast.client.post("/api/session", json=NEW).status_code == 401  # no Ada was made


def test_an_invite_expires_after_a_week(cast: Cast) -> None:
    ola = cast.person("Ola", operator=True)
    invite = cast.client.post("/api/invites", headers=ola.auth).json()["invite"]
    cast.clock.advance(minutes=7 * 24 * 60 + 1)
    assert cast.client.post("/api/signup", json={**NEW, "invite": invite}).status_code == 403


def test_only_the_operator_makes_invites(cast: Cast) -> None:
    mira = cast.person("Mira")
    assert cast.client.post("/api/invites", headers=mira.auth).status_code == 403
    assert cast.client.get("/api/people", headers=mira.auth).status_code == 403


@pytest.fixture
def open_client(tmp_path: Path, sqlite_url: str) -> Iterator[TestClient]:
    svc = make_services(sqlite_url, tmp_path, FakeClock(), WWM_OPEN_SIGNUP="true")
    with TestClient(create_app(svc)) as client:
        yield client


def test_open_sign_up_when_the_operator_allows_it(open_client: TestClient) -> None:
    # The sign-in page no longer says an invite is needed to make an account.
    signin = open_client.get("/signin").text
    assert 'href="/signup">Make an account</a>' in signin
    assert "invite" not in signin
    made = open_client.post("/api/signup", json=NEW)
    assert made.status_code == 201
    token = made.json()["token"]
    me = open_client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == "ada@example.org"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"password": "short"}, "password"),
        ({"name": "  "}, "name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_a_bad_sign_up_names_what_is_wrong_and_creates_nothing(
    open_client: TestClient, change: dict[str, str], field: str
) -> None:
    refused = open_client.post("/api/signup", json={**NEW, **change})
    assert refused.status_code == 422
    assert refused.json()["field"] == field
    assert open_client.post("/api/signup", json=NEW).status_code == 201


def test_the_same_email_cannot_sign_up_twice(open_client: TestClient) -> None:
    open_client.post("/api/signup", json=NEW)
    again = open_client.post("/api/signup", json={**NEW, "email": "ADA@example.org"})
    assert again.status_code == 409


def test_sign_in_and_out(cast: Cast) -> None:
    cast.person("Mira")
    wrong = cast.client.post(
        "/api/session", json={"email": "mira@example.org", "password": "wrong password!"}
    )
    assert wrong.status_code == 401
    nobody = cast.client.post(
        "/api/session", json={"email": "nobody@example.org", "password": "wrong password!"}
    )
    assert nobody.json() == wrong.json()
    signed = cast.client.post(
        "/api/session", json={"email": "mira@example.org", "password": "correct horse battery"}
    )
    assert signed.status_code == 200
    auth = {"Authorization": f"Bearer {signed.json()['token']}"}
    assert cast.client.get("/api/me", headers=auth).json()["name"] == "Mira"
    assert cast.client.delete("/api/session", headers=auth).status_code == 204
    assert cast.client.get("/api/me", headers=auth).status_code == 401


def test_a_session_expires(cast: Cast) -> None:
    mira = cast.person("Mira")
    cast.clock.advance(minutes=31 * 24 * 60)
    assert cast.client.get("/api/me", headers=mira.auth).status_code == 401


def test_the_profile_can_be_changed_and_bad_values_change_nothing(cast: Cast) -> None:
    mira = cast.person("Mira")
    changed = cast.client.patch(
        "/api/me", json={"timezone": "Europe/Helsinki", "pace": 1.1}, headers=mira.auth
    )
    assert changed.json()["timezone"] == "Europe/Helsinki"
    refused = cast.client.patch("/api/me", json={"pace": 30, "name": "X"}, headers=mira.auth)
    assert refused.status_code == 422
    assert refused.json()["field"] == "pace"
    me = cast.client.get("/api/me", headers=mira.auth).json()
    assert (me["pace"], me["name"]) == (1.1, "Mira")


def test_the_operator_lists_people_but_no_whereabouts(cast: Cast) -> None:
    ola = cast.person("Ola", operator=True)
    cast.person("Mira")
    listed = cast.client.get("/api/people", headers=ola.auth).json()
    assert [p["name"] for p in listed] == ["Ola", "Mira"]
    assert all("lat" not in str(p) for p in listed)


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        (b"{not json", 400, "body is not valid JSON"),
        (b"[", 400, "body is not valid JSON"),
        (b"plain words", 400, "body is not valid JSON"),
        (b"[1, 2]", 422, "send a JSON object"),
        (b"42", 422, "send a JSON object"),
    ],
)
def test_a_body_that_is_not_json_or_not_an_object_is_said_so_not_a_trace(
    cast: Cast, body: bytes, status: int, said: str
) -> None:
    """As the fixes' door says it: no field is blamed (a place in the text is not a field)."""
    answer = cast.client.post(
        "/api/session", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == status
    assert answer.json() == {"error": said}


def test_a_time_zone_typed_as_its_city_is_named_back() -> None:
    """ "Unknown time zone 'New York'" left her to guess the name it wanted."""
    for typed, meant in (("New York", "America/New_York"), ("helsinki", "Europe/Helsinki")):
        with pytest.raises(Invalid) as refused:
            check_timezone(typed)
        assert refused.value.field == "timezone"
        assert refused.value.message.endswith(f": did you mean {meant}?")
    with pytest.raises(Invalid) as refused:
        check_timezone("Mars/Base")
    assert refused.value.message == "unknown time zone 'Mars/Base': a name such as Europe/Helsinki"


def test_a_time_zone_is_a_place_not_the_servers_own_or_a_copy_of_one() -> None:
    """ "localtime" answered with the server's own zone (how its host is set), "right/UTC"
    ran her clock 27 s off: the database's files that name no place are refused."""
    for typed in ("localtime", "right/UTC", "posix/Europe/Helsinki", "posixrules", "Factory"):
        with pytest.raises(Invalid) as refused:
            check_timezone(typed)
        assert refused.value.field == "timezone", typed
    for kept in ("Europe/Helsinki", "UTC", "Etc/UTC", "America/New_York"):
        assert check_timezone(kept) == kept


def test_a_zone_kept_from_before_is_not_checked_again_when_her_profile_is_saved(
    cast: Cast,
) -> None:
    """Her settings form sends her zone back with every save: one kept before "localtime"
    was refused refused her new phone number with it (a diff review). Typed anew, it is."""
    mira = cast.person("Mira")
    with cast.services.db.write_engine.begin() as conn:
        conn.execute(people.update().where(people.c.id == mira.id).values(timezone="localtime"))
    kept = cast.client.patch(
        "/api/me", json={"timezone": "localtime", "phone": "+358 40 123 4567"}, headers=mira.auth
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["phone"] == "+358 40 123 4567"
    typed = cast.client.patch("/api/me", json={"timezone": "right/UTC"}, headers=mira.auth)
    assert (typed.status_code, typed.json()["field"]) == (422, "timezone")
    with pytest.raises(Invalid) as refused:
        check_timezone("Localtime")
    assert "did you mean" not in refused.value.message  # never a zone it would refuse
