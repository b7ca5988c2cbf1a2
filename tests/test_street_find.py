"""Finding a street by the words typed (streets/finding.py, /api/map/find)."""

from __future__ import annotations

import pytest

from tests.people import Cast
from walkwithme.domain.geo import distance_m
from walkwithme.streets import StreetMap


def names(helsinki: StreetMap, typed: str) -> list[str]:
    return [name for name, _where in helsinki.find_streets(typed)]


def test_a_few_letters_of_any_word_find_it_as_typed_on_a_phone(helsinki: StreetMap) -> None:
    assert names(helsinki, "kaivo") == ["Kaivokatu", "Kaivopiha"]
    assert names(helsinki, "MANNERH")[0] == "Mannerheimintie"
    assert names(helsinki, "toolo") == ["Töölönlahdenkatu"]  # without its accents
    assert names(helsinki, "pohjois espl") == ["Pohjoisesplanadi"]  # each word, in any word
    assert names(helsinki, "zzqx") == []
    assert len(names(helsinki, "katu")) == 8  # (at most eight: a list to choose from)


def test_a_street_is_found_on_itself(helsinki: StreetMap) -> None:
    """Where the page brings its map: on the street, near enough for its name to be said."""
    for typed in ("Kaivokatu", "Mannerheimintie", "Pohjoisesplanadi", "Aleksanterinkatu"):
        [(name, (lat, lon)), *_] = helsinki.find_streets(typed)
        assert name == typed
        assert typed in helsinki.streets_near(lat, lon)


@pytest.mark.streets
@pytest.mark.one_database
def test_the_api_finds_for_those_signed_in_and_names_a_bad_query(cast: Cast) -> None:
    mira = cast.person("Mira")
    found = cast.client.get("/api/map/find?q=kaivo", headers=mira.auth)
    assert found.status_code == 200
    [first, *_] = found.json()["streets"]
    assert first["name"] == "Kaivokatu"
    assert distance_m(first["lat"], first["lon"], 60.1703, 24.9420) < 100
    short = cast.client.get("/api/map/find?q=k", headers=mira.auth)
    assert short.status_code == 422
    assert "q" in short.text
    assert cast.client.get("/api/map/find?q=kaivo").status_code == 401
