"""OwnTracks' payload encryption, exactly as the apps do it: libsodium's secretbox
(XSalsa20-Poly1305); the key is the passphrase's UTF-8 bytes, truncated or zero-padded to 32;
a message is `{"_type": "encrypted", "data": base64(nonce[24] | MAC[16] | ciphertext)}`.
The answers go back the same way."""

from __future__ import annotations

import secrets

from nacl.encoding import Base64Encoder
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

KEY_BYTES = SecretBox.KEY_SIZE  # 32


class Undecryptable(Exception):
    """Not sealed with this device's key (or not sealed at all)."""


def new_key() -> str:
    """A passphrase to type into the app: 32 URL-safe characters, so all of it is the key."""
    return secrets.token_urlsafe(24)


def _box(passphrase: str) -> SecretBox:
    return SecretBox(passphrase.encode()[:KEY_BYTES].ljust(KEY_BYTES, b"\0"))


def open_sealed(passphrase: str, data: object) -> bytes:
    if not isinstance(data, str):
        raise Undecryptable("an encrypted message's data is a base64 string")
    try:
        return _box(passphrase).decrypt(data.encode(), encoder=Base64Encoder)
    except (CryptoError, ValueError, TypeError):
        raise Undecryptable("it could not be decrypted: check the encryption key") from None


def seal(passphrase: str, plain: bytes) -> dict[str, str]:
    data = _box(passphrase).encrypt(plain, encoder=Base64Encoder)
    return {"_type": "encrypted", "data": data.decode()}
