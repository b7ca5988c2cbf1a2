"""Her thresholds for the watchdog's rules on her settings page: each rule by day and by night,
in words, with what a walk she starts now would get, within the bounds the service allows
(domain/profiles.py). The same use case as PATCH /api/me {"rules": ...}."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from walkwithme.api.auth import services
from walkwithme.domain.errors import Invalid
from walkwithme.domain.profiles import PROFILE_NAMES, RULES, hers
from walkwithme.usecases import accounts
from walkwithme.usecases.accounts import Person
from walkwithme.web.manage_common import act

router = APIRouter(include_in_schema=False)

LABELS = {
    "late_grace": "Late: at least this long after the expected arrival",
    "late_grace_percent": "Late: or this share of the walk's expected time, in %",
    "stalled": "Stalled: not moving on for",
    "moving_away": "Moving away from where you are going for",
    "silent": "Silent: no position from your phone for",
    "lingering": "At the door and not yet inside for",
    "check_window": "Time to answer “Are you OK?”",
}


def _said(name: str, value: float) -> str:
    """A threshold as people read it: "3 min", "90 s", "25%"."""
    if name == "late_grace_percent":
        return f"{value:g}%"
    if value and value % 60 == 0:
        return f"{value / 60:g} min"
    return f"{value:g} s"


def _editable(name: str, own: object) -> str:
    """Her setting as she may type it again: "4m", "90s", or a percentage."""
    if isinstance(own, bool) or not isinstance(own, int | float):
        return str(own)
    if name == "late_grace_percent":
        return f"{own:g}"
    return f"{own / 60:g}m" if own and own % 60 == 0 else f"{own:g}s"


def rules_context(person: Person, profiles: Any) -> list[dict[str, Any]]:
    """One line a rule: its words, her own setting by day and by night (as she wrote it, empty
    where she has none), and what a walk she started now would get."""
    effective = hers(profiles, person.pace_mps, person.overrides).as_json()
    mine: Mapping[str, Any] = person.rules
    lines = []
    for rule in RULES:
        line: dict[str, Any] = {"name": rule.name, "label": LABELS[rule.name]}
        for profile in PROFILE_NAMES:
            own = (mine.get(profile) or {}).get(rule.name, mine.get(rule.name))
            line[profile] = "" if own is None else _editable(rule.name, own)
            line[f"{profile}_now"] = _said(rule.name, effective[profile][rule.name])
        lines.append(line)
    return lines


def _setting(name: str, text: str) -> str | float:
    if name == "late_grace_percent":
        try:
            return float(text)
        except ValueError:
            return text  # refused by the rules' own check, by name
    return text


def _in_words(exc: Invalid) -> Invalid:
    """ "rules.night.silent must be ..." as the page names it: 'By night, "silent: no
    position from your phone for" must be ...'."""
    parts = (exc.field or "").split(".")
    if len(parts) != 3 or parts[2] not in LABELS:
        return exc
    _rules, profile, name = parts
    rest = exc.message.partition(" must ")[2]
    label = LABELS[name][0].lower() + LABELS[name][1:]
    return Invalid(f"by {profile}, “{label}” must {rest}", field=exc.field)


@router.post("/settings/rules")
async def save_rules(request: Request) -> Response:
    async def action(person: Person, fields: dict[str, str]) -> None:
        written: dict[str, dict[str, str | float]] = {}
        if fields.get("reset") != "yes":
            for profile in PROFILE_NAMES:
                for rule in RULES:
                    text = fields.get(f"{profile}.{rule.name}", "").strip()[:20]
                    if text:
                        written.setdefault(profile, {})[rule.name] = _setting(rule.name, text)
        try:
            await services(request).writer.run(
                lambda tx: accounts.update_profile(tx, person.id, rule_settings=written)
            )
        except Invalid as exc:
            raise _in_words(exc) from None

    return await act(request, "/settings?done=rules", action)
