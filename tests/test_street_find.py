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


def test_streets_of_one_name_in_two_towns_are_two_finds_said_by_a_street_near_each() -> None:
    """A region's file (docs/streets.md) has a Koulukatu in every town: they were one find, in
    one town only (a review). And letters a phone types plainly find their street."""
    from walkwithme.streets.graph import build_walking_graph
    from walkwithme.streets.osm import Chain, Ways
    from walkwithme.streets.streetmap import StreetMap

    where = {
        # Koulukatu in one town, Kirkkotie across it; 20 km on, Koulukatu again, Asematie.
        1: (60.30, 25.000), 2: (60.30, 25.004), 3: (60.301, 25.002), 4: (60.299, 25.002),
        5: (60.48, 25.000), 6: (60.48, 25.004), 7: (60.481, 25.002), 8: (60.479, 25.002),
        9: (60.30, 25.002), 10: (60.48, 25.002), 11: (60.39, 25.01),
    }  # fmt: skip
    chains = [
        Chain([1, 9, 2], True, "Koulukatu"),
        Chain([3, 9, 4], True, "Kirkkotie"),
        Chain([5, 10, 6], True, "Koulukatu"),
        Chain([7, 10, 8], True, "Asematie"),
        Chain([2, 11, 6], True, None),  # the road between, unnamed
        Chain([3, 7], True, "Søndre gate"),
    ]
    streets = StreetMap(build_walking_graph(Ways(chains, where)))
    found = streets.find_streets("koulu")
    assert sorted(name for name, _where in found) == [
        "Koulukatu, near Asematie",
        "Koulukatu, near Kirkkotie",
    ]
    assert {round(where[0], 2) for _name, where in found} == {60.30, 60.48}
    assert [name for name, _where in streets.find_streets("sondre")] == ["Søndre gate"]
