"""Errors the domain and the use cases raise; the API turns each into one clear status."""

from __future__ import annotations


class DomainError(Exception):
    """Something a person asked for that can't be done as asked. Nothing was changed."""

    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """Input that is malformed or out of range."""

    status = 422


class NotFound(DomainError):
    """Not there, or not yours to see: the two are answered alike so nothing leaks."""

    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    """The request clashes with the current state (a second live walk, a used invite)."""

    status = 409


class Changed(Conflict):
    """What the request acts on changed between its read and its write (another process's
    commit, on PostgreSQL): nothing was kept, and the same request, asked again, decides on
    what is there now (the writer asks again itself: store/writer.py)."""


class IllegalTransition(Conflict):
    """A walk was asked to move between two states that have no edge between them."""


class Unauthorized(DomainError):
    status = 401


class TooLarge(DomainError):
    """More than this kind of request may carry: refused whole, never cut to fit."""

    status = 413


class TooSoon(DomainError):
    """Tried again before the wait that guards it is over (PIN attempts after wrong ones)."""

    status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Busy(TooSoon):
    """Too much of one costly kind of work at once: try again shortly."""

    status = 503
