"""Password hashing (scrypt, from ``cryptography``) and the password policy.

A stored hash is one ASCII string that carries its parameters, so that they can be raised later
without invalidating older hashes (``needs_rehash`` says when a successful login should re-hash)::

    scrypt$n=131072,r=8,p=1$<salt, base64>$<32-byte key, base64>

The default cost is OWASP's recommendation for scrypt (N=2**17, r=8, p=1: 128 MiB, ~0.2-0.5 s);
the issue's floor was N=2**15. Passwords are NFC-normalised before hashing, so that the same
password typed through different input methods matches.
"""

from __future__ import annotations

import base64
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import PasswordPolicyError

DEFAULT_N, DEFAULT_R, DEFAULT_P = 2**17, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # beyond this, hashing is a denial-of-service lever, not security

# Hashes with larger parameters are refused on verify: a crafted row must not make a login
# allocate gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16
_ENCODED = re.compile(r"^scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _password_bytes(password: str) -> bytes:
    return unicodedata.normalize("NFC", password).encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class ScryptParams:
    n: int = DEFAULT_N
    r: int = DEFAULT_R
    p: int = DEFAULT_P

    def __post_init__(self):
        if self.n < 2 or self.n & (self.n - 1):
            raise ValueError(f"scrypt n must be a power of two, not {self.n}")
        if not (1 <= self.r <= _MAX_R and 1 <= self.p <= _MAX_P and self.n <= _MAX_N):
            raise ValueError(f"scrypt parameters out of range: n={self.n}, r={self.r}, p={self.p}")

    def weaker_than(self, other: ScryptParams) -> bool:
        return self.n < other.n or self.r < other.r or self.p < other.p


@dataclass(frozen=True)
class PasswordHasher:
    """Hashes new passwords with ``params`` and verifies hashes of any (sane) parameters.

    Production code uses the defaults; tests may pass cheaper ``params`` to stay quick."""

    params: ScryptParams = ScryptParams()

    def hash(self, password: str) -> str:
        salt = os.urandom(SALT_BYTES)
        key = _derive(password, salt, self.params)
        p = self.params
        return f"scrypt$n={p.n},r={p.r},p={p.p}${_b64(salt)}${_b64(key)}"

    def verify(self, password: str, encoded: str) -> bool:
        """True if ``password`` matches ``encoded`` (constant-time comparison). An unparsable or
        out-of-range hash gives False, never an exception."""
        parsed = parse_hash(encoded)
        if parsed is None:
            return False
        params, salt, expected = parsed
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        return hmac.compare_digest(_derive(password, salt, params, len(expected)), expected)

    def needs_rehash(self, encoded: str) -> bool:
        """True if ``encoded`` was made with weaker parameters than this hasher's (or is unreadable)."""
        parsed = parse_hash(encoded)
        return parsed is None or parsed[0].weaker_than(self.params)

    def dummy_verify(self, password: str) -> None:
        """Spend the time of one verification, so that an unknown user name takes as long as a
        known one (user names are not disclosed by timing)."""
        _derive(password[:MAX_PASSWORD_LENGTH], b"\0" * SALT_BYTES, self.params)


def _derive(password: str, salt: bytes, params: ScryptParams, length: int = KEY_BYTES) -> bytes:
    return Scrypt(salt=salt, length=length, n=params.n, r=params.r, p=params.p).derive(_password_bytes(password))


def parse_hash(encoded: str) -> tuple[ScryptParams, bytes, bytes] | None:
    """(params, salt, key) of an encoded hash, or None if it is not one this module wrote."""
    m = _ENCODED.match(encoded or "")
    if m is None:
        return None
    try:
        params = ScryptParams(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        salt, key = base64.b64decode(m.group(4), validate=True), base64.b64decode(m.group(5), validate=True)
    except (ValueError, TypeError):
        return None
    if not salt or len(key) < 16:
        return None
    return params, salt, key


def hash_password(password: str, params: ScryptParams | None = None) -> str:
    """The encoded scrypt hash of ``password`` (default parameters unless given)."""
    return PasswordHasher(params or ScryptParams()).hash(password)


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches ``encoded``; see :meth:`PasswordHasher.verify`."""
    return PasswordHasher().verify(password, encoded)


def check_password_policy(password: str, username: str) -> None:
    """Raise :class:`PasswordPolicyError` (its message says what to change) unless ``password`` has
    at least 10 characters, at most 1024, is not the user name (in any case, either way round)
    and is not one character repeated."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    folded = unicodedata.normalize("NFKC", password).strip().casefold()
    name = unicodedata.normalize("NFKC", username).strip().casefold()
    if name and (folded == name or folded == name[::-1]):
        raise PasswordPolicyError("the password must not be the user name")
    if len(set(folded)) <= 1:
        raise PasswordPolicyError("the password must not be one character repeated")
