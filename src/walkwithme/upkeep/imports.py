"""`walkwithme people import FILE.csv`: many accounts at once (a campus, a club), in one process.

The file is read and every row checked before anything is written: one bad row (its line
named) and nothing is imported, so the operator fixes the file and runs it again. Passwords
are made for each person and hashed on all cores; the accounts are created in one transaction.
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from walkwithme.domain.errors import DomainError
from walkwithme.security import hash_secret
from walkwithme.store.schema import people
from walkwithme.store.tx import Tx
from walkwithme.usecases import accounts

COLUMNS = ("email", "name", "timezone", "operator")
MAX_ROWS = 10_000


class ImportRefused(Exception):
    """The file can't be imported as it is; every problem is listed, nothing was written.
    `rows`: the lines that were good, for what only the database can say of them (an address
    taken already: said on a second run only, once the others were mended)."""

    def __init__(self, problems: list[str], rows: list[Row] | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.rows = rows or []


def by_line(problems: list[str]) -> list[str]:
    """Problems in the order of the lines they name (those of the whole file first)."""

    def line(problem: str) -> int:
        number = problem.removeprefix("line ").split(":", 1)[0]
        return int(number) if problem.startswith("line ") and number.isdigit() else 0

    return sorted(problems, key=line)


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    name: str
    timezone: str
    operator: bool


def read(path: Path, default_timezone: str) -> list[Row]:
    """Every row checked; `ImportRefused` lists each bad line."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV may start with a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRefused([f"{path}: can't be read: {exc}"]) from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in header:
        raise ImportRefused([f"{path}: the first line must name the columns, email first"])
    unknown = sorted(set(header) - set(COLUMNS))
    if unknown:
        raise ImportRefused(
            [
                f"{path}: unknown columns {', '.join(unknown)} (known: email, "
                "name, timezone, operator)"
            ]
        )
    rows: list[Row] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        values = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not any(values.values()):
            continue  # a blank line
        try:
            email, name, tz = accounts.check_new_person(
                values.get("email", ""),
                values.get("name") or values.get("email", "").split("@")[0],
                secrets.token_urlsafe(12),
                values.get("timezone") or default_timezone,
            )
            operator = _yes(values.get("operator", ""))
        except (DomainError, ValueError) as exc:
            problems.append(f"line {number}: {getattr(exc, 'message', exc)}")
            continue
        if email in seen:
            problems.append(f"line {number}: {email} is on line {seen[email]} already")
            continue
        seen[email] = number
        rows.append(Row(number, email, name, tz, operator))
    if len(rows) > MAX_ROWS:
        problems.append(f"{len(rows)} people: import at most {MAX_ROWS} at a time")
    if problems:
        raise ImportRefused(problems, rows)
    return rows


def _yes(text: str) -> bool:
    lowered = text.lower()
    if lowered in {"", "no", "false", "0"}:
        return False
    if lowered in {"yes", "true", "1"}:
        return True
    raise ValueError(f"operator must be yes or no, not {text!r}")


@dataclass(frozen=True)
class Made:
    row: Row
    password: str
    password_hash: str


def make_passwords(
    rows: Iterable[Row], workers: int, progress: Callable[[], None] = lambda: None
) -> list[Made]:
    """A password each, hashed on `workers` threads (argon2 releases the GIL)."""

    def one(row: Row) -> Made:
        password = secrets.token_urlsafe(12)
        made = Made(row, password, hash_secret(password))
        progress()
        return made

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, rows))


def taken(conn: sa.Connection, rows: list[Row]) -> list[str]:
    emails = [r.email for r in rows]
    found: set[str] = set()
    for start in range(0, len(emails), 500):  # bounded IN lists
        chunk = emails[start : start + 500]
        found |= {
            e for (e,) in conn.execute(sa.select(people.c.email).where(people.c.email.in_(chunk)))
        }
    return [f"line {r.line}: {r.email} has an account already" for r in rows if r.email in found]


def create(tx: Tx, made: list[Made]) -> list[accounts.Person]:
    """All in one transaction: an email taken meanwhile refuses them all."""
    return [
        accounts.create_person(
            tx,
            accounts.NewPerson(
                m.row.email, m.row.name, m.password_hash, m.row.timezone, m.row.operator
            ),
        )
        for m in made
    ]
