"""The server's VAPID key (RFC 8292): it signs every Web Push request, and browsers bind their
subscriptions to its public half (`applicationServerKey`).

The operator gives it (`WWM_VAPID_PRIVATE_KEY`, PEM or the raw 32-byte scalar in base64url),
or it is made on first use and kept in `WWM_DATA/vapid.pem` (mode 0600). Changing it orphans
every subscription: browsers must subscribe again.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from walkwithme.clock import Clock, SystemClock

TOKEN_LIFETIME_S = 12 * 3600  # RFC 8292: at most 24 hours


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Base64url, padded or not; ValueError if it isn't."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("is not base64url") from exc


def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key, in PEM or as the raw scalar in base64url; ValueError otherwise."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError("is not a readable PEM private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("must be a P-256 (prime256v1) key")
        return key
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ValueError("must be a PEM key, or 32 bytes in base64url")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError as exc:
        raise ValueError("is not a valid P-256 private key") from exc


def check_private_key(text: str) -> str:
    """The setting's parser: refuse a bad key at start-up, keep the text."""
    if text.strip():
        parse_private_key(text)
    return text.strip()


def check_subject(text: str) -> str:
    text = text.strip()
    if text and not text.startswith(("mailto:", "https://", "http://")):
        raise ValueError("must be a mailto: address or an https:// URL")
    return text


def load_or_create(path: Path) -> ec.EllipticCurvePrivateKey:
    """The key kept in `path`, made there (0600) if there is none yet. Two processes starting
    together agree: the file appears whole, once (written aside, then linked into place)."""
    try:
        return parse_private_key(path.read_text())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            return parse_private_key(path.read_text())  # another process made it first
    finally:
        aside.unlink(missing_ok=True)
    return key


@dataclass
class PushKeys:
    """The VAPID key, loaded (or made) on first use. `subject` is the contact a push service
    may use to reach the operator (`sub` claim). Tokens expire by `real_time`: the push
    service checks them against its own clock, whatever speed this service's clock runs at."""

    path: Path
    configured: str = ""
    subject: str = ""
    real_time: Clock = field(default_factory=SystemClock)
    _key: ec.EllipticCurvePrivateKey | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        with self._lock:
            if self._key is None:
                self._key = (
                    parse_private_key(self.configured)
                    if self.configured
                    else load_or_create(self.path)
                )
            return self._key

    def public_key(self) -> str:
        """The uncompressed P-256 point in base64url: a browser's `applicationServerKey`."""
        point = (
            self.private_key()
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        return b64url(point)

    def authorization(self, endpoint: str) -> str:
        """`vapid t=<JWT>, k=<public key>` for a request to this push endpoint."""
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": self.real_time.now_ms() // 1000 + TOKEN_LIFETIME_S,
            "sub": self.subject,
        }
        # no-strict: the subject was checked by our settings (py_vapid's own check refuses
        # an http:// subject, which a test or a LAN-only server may have to use).
        signer = Vapid02(self.private_key(), conf={"no-strict": True})
        header: str = signer.sign(claims)["Authorization"]
        return header
