"""Password hashing (scrypt) and the password policy."""

from __future__ import annotations

import base64
import unicodedata

import pytest
from auth_kit import FAST

from app.core.auth import PasswordPolicyError, check_password_policy
from app.core.auth.passwords import (
    DEFAULT_N,
    DEFAULT_P,
    DEFAULT_R,
    PasswordHasher,
    ScryptParams,
    hash_password,
    parse_hash,
    verify_password,
)


def test_default_hash_round_trips_and_carries_its_parameters():
    encoded = hash_password("correct horse battery staple")
    assert (DEFAULT_N, DEFAULT_R, DEFAULT_P) == (2**17, 8, 1)
    assert encoded.startswith("scrypt$n=131072,r=8,p=1$")
    params, salt, key = parse_hash(encoded)
    assert params == ScryptParams(2**17, 8, 1) and len(salt) == 16 and len(key) == 32
    assert verify_password("correct horse battery staple", encoded)
    assert not verify_password("correct horse battery stapl", encoded)
    assert not verify_password("", encoded)


def test_salts_differ_and_hashes_of_other_parameters_still_verify():
    a, b = FAST.hash("same password 1"), FAST.hash("same password 1")
    assert a != b and parse_hash(a)[1] != parse_hash(b)[1]
    stronger = PasswordHasher(ScryptParams(n=2**11))
    assert stronger.verify("same password 1", a)  # old, cheaper hashes keep working
    assert stronger.needs_rehash(a) and not FAST.needs_rehash(a)
    assert not FAST.needs_rehash(stronger.hash("x" * 12))


def test_a_changed_salt_or_key_fails():
    encoded = FAST.hash("secret password")
    head, salt, key = encoded.rsplit("$", 2)
    other_salt = base64.b64encode(b"\x01" * 16).decode()
    assert not FAST.verify("secret password", f"{head}${other_salt}${key}")
    flipped = bytearray(base64.b64decode(key))
    flipped[0] ^= 1
    assert not FAST.verify("secret password", f"{head}${salt}${base64.b64encode(bytes(flipped)).decode()}")


@pytest.mark.parametrize("encoded", [
    "", "plain", "scrypt$n=1024,r=8,p=1$!!$AAAA", "bcrypt$2b$12$abc",
    "scrypt$n=1000,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # not 2**k
    "scrypt$n=1073741824,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # 2**30
])
def test_unreadable_or_dangerous_hashes_never_verify(encoded):
    assert not FAST.verify("anything at all", encoded)
    assert FAST.needs_rehash(encoded)


def test_unicode_passwords_match_across_normal_forms():
    password = "密码Café-2024!"
    encoded = FAST.hash(unicodedata.normalize("NFD", password))
    assert FAST.verify(unicodedata.normalize("NFC", password), encoded)
    assert not FAST.verify("密码Cafe-2024!", encoded)


@pytest.mark.parametrize("password, username, reason", [
    ("short1234", "alice", "at least 10"),
    ("alice.wong", "alice.wong", "user name"),
    ("ALICE.WONG", "alice.wong", "user name"),
    ("gnow.ecila", "alice.wong", "user name"),
    ("aaaaaaaaaaaa", "bob", "repeated"),
    ("x" * 1025 + "y", "bob", "at most"),
])
def test_policy_refuses_weak_passwords_with_the_reason(password, username, reason):
    with pytest.raises(PasswordPolicyError, match=reason):
        check_password_policy(password, username)


def test_policy_accepts_a_ten_character_password():
    check_password_policy("0123456789", "alice")
    check_password_policy("长一点的中文密码也可以用", "alice")
