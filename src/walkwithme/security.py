"""Secrets: passwords and PINs (argon2), tokens and links (random, stored as SHA-256).

Argon2 costs tens of milliseconds a check on purpose: right for a password or a PIN, far too
slow for a phone's token on every fix. Tokens have 256 random bits, so a plain SHA-256 of them
can't be reversed or guessed, and the database can look them up by that hash.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def use_cheap_hashing_for_tests() -> None:
    """Argon2 with its smallest cost: the same code path, a thousand times faster. Only the
    test suite calls this; the service always uses argon2-cffi's recommended parameters."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


TOKEN_BYTES = 32


def new_token(prefix: str) -> str:
    """A fresh secret: `prefix` says what it is for, the rest is 256 random bits."""
    return f"{prefix}_{secrets.token_urlsafe(TOKEN_BYTES)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_secret(secret: str) -> str:
    """For passwords and PINs."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
