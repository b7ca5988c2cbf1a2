"""`WWM_DATABASE_URL`, read strictly: the service runs on SQLite or on PostgreSQL through
psycopg, and a URL for anything else is said in one line at start-up, naming the forms it
takes, rather than as SQLAlchemy's "Can't load plugin" or a driver's ModuleNotFoundError."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

FORMS = "sqlite:///PATH or postgresql+psycopg://user@host/dbname"
# How PostgreSQL's own tools (libpq) and many hosts write its URL: taken as psycopg's, the one
# driver the service installs (SQLAlchemy reads them as psycopg2's, or not at all).
_PLAIN_POSTGRES = ("postgres", "postgresql")


def database_url(text: str) -> str:
    url = text.strip()
    if not url:
        return ""  # SQLite in the data folder
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"must be a database URL: {FORMS}")
    if scheme.lower() in _PLAIN_POSTGRES:
        url = f"postgresql+psycopg://{rest}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"must be a database URL: {FORMS}") from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite" or (backend == "postgresql" and driver == "psycopg"):
        return url
    if not scheme.replace("+", "").isalnum():
        raise ValueError(f"must be a database URL: {FORMS}")  # not a scheme: maybe a secret
    if backend == "postgresql":
        raise ValueError(f"{scheme}:// needs a driver this service doesn't have: use {FORMS}")
    raise ValueError(
        f"{scheme}:// is no database this service runs on (SQLite or PostgreSQL): use {FORMS}"
    )
