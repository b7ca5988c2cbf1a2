"""The README's promises: two commands, and CI runs the second exactly."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", section)


def test_the_readme_gives_two_commands_serve_then_test() -> None:
    serve, test = readme_commands()
    assert serve.endswith("walkwithme serve")
    assert "pytest" in test


def test_ci_runs_the_readmes_test_command_exactly() -> None:
    _serve, test = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci
