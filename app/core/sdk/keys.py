"""RSA private keys per ``publickey_ver`` and the random-key step of decryption.

Each GetChatData item names the version of the corp's public key WeCom encrypted its random key
with; every historical private key must therefore be kept. Loading a PEM key costs ~30 ms
(validation), so a :class:`PrivateKeyRing` loads each version once and is then read-only
(safe to share between threads).

A wrong key or a corrupt ``encrypt_random_key`` usually does **not** raise here: PKCS#1 v1.5
decryption with implicit rejection returns random bytes instead, and the failure shows up in
DecryptData or when parsing the JSON. The sync quarantines the entry either way.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

if TYPE_CHECKING:
    from .binding import ChatDataItem


class PrivateKeyError(Exception):
    """Base of the private-key errors."""


class UnknownKeyVersionError(PrivateKeyError):
    def __init__(self, version: int | None, known: list[int]) -> None:
        self.version = version
        known_text = ", ".join(map(str, known)) or "none"
        super().__init__(
            f"no private key installed for publickey_ver {version} (installed: {known_text}); "
            f"import the private key of version {version} in Settings")


class InvalidPrivateKeyError(PrivateKeyError):
    pass


class RandomKeyError(PrivateKeyError):
    """``encrypt_random_key`` is not base64 or cannot be RSA-decrypted at all."""


def load_private_key(pem: bytes | str, *, version: int | None = None) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (PKCS#1 or PKCS#8, unencrypted)."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    label = f"the private key of version {version}" if version is not None else "the private key"
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidPrivateKeyError(f"{label} is not a readable unencrypted PEM RSA key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidPrivateKeyError(f"{label} is not an RSA key")
    return key


class PrivateKeyRing:
    """The corp's private keys by ``publickey_ver``; each PEM is loaded once."""

    def __init__(self, keys: Mapping[int, rsa.RSAPrivateKey] | None = None):
        self._keys: dict[int, rsa.RSAPrivateKey] = dict(keys or {})

    @classmethod
    def from_pems(cls, pems: Mapping[int, bytes | str] | Mapping[str, bytes | str]) -> PrivateKeyRing:
        return cls({int(v): load_private_key(pem, version=int(v)) for v, pem in pems.items()})

    def versions(self) -> list[int]:
        return sorted(self._keys)

    def __contains__(self, version: int) -> bool:
        return version in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, version: int | None) -> rsa.RSAPrivateKey:
        """The key of ``version``; UnknownKeyVersionError for another (or None: an entry without one)."""
        if version is None or version not in self._keys:
            raise UnknownKeyVersionError(version, self.versions())
        return self._keys[version]


def decrypt_random_key(item: ChatDataItem | Mapping[str, Any], keyring: PrivateKeyRing) -> bytes:
    """The random key of a GetChatData item, RSA-decrypted (PKCS#1 v1.5) with its version's key.

    ``item`` has ``publickey_ver`` and ``encrypt_random_key`` (a ChatDataItem or a dict).
    Raises UnknownKeyVersionError naming the version, or RandomKeyError.
    """
    if isinstance(item, Mapping):
        version, encrypted = item.get("publickey_ver"), item.get("encrypt_random_key", "")
    else:
        version, encrypted = item.publickey_ver, item.encrypt_random_key
    key = keyring.get(version)
    try:
        ciphertext = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise RandomKeyError("encrypt_random_key is not valid base64") from None
    try:
        return key.decrypt(ciphertext, padding.PKCS1v15())
    except ValueError as exc:
        raise RandomKeyError(f"RSA decryption of the random key failed ({exc})") from None
