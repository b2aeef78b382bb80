"""The data formats Tencent's real ``libWeWorkFinanceSdk_C.so`` accepts, for generating test data.

Found by disassembling the library (v3, x86-64, SHA-256 79ced4de…) and confirmed by round trips
through it (``test_real_library.py``); README.md beside this file tells how. Nothing here is
Tencent's code: it is our own encoder of what the library's decoder expects.

Chat messages (``DecryptData(random_key, encrypt_chat_msg)``)
--------------------------------------------------------------
* ``random_key`` (what RSA-decrypting ``encrypt_random_key`` yields) is itself
  ``base64(IV16 ‖ AES-256-CBC-PKCS7(wrap_key, SdkKeyInfo))`` where ``SdkKeyInfo`` is the protobuf
  ``{1: k1 (string), 2: pre_len, 3: end_len, 4: s_len}`` and ``wrap_key`` is the 32 characters
  ``encrypt_chat_msg[13:45]``.
* ``encrypt_chat_msg`` = ``H(13 chars) ‖ wrap_key(32) ‖ junk(pre_len) ‖ D[:s_len] ‖ junk(s_len) ‖
  D[s_len:] ‖ junk(end_len)`` with ``D = base64(IV16 ‖ AES-256-CBC-PKCS7(k1, plaintext))``.
  AES keys shorter than 32 bytes are zero-padded, longer ones cut (the library copies at most 32).
* Return codes: msg < 13 chars → the library throws ``std::out_of_range`` (process dies);
  random_key not decryptable with ``msg[13:45]`` → 10008; not an SdkKeyInfo or ``s_len <= 0`` or
  ``2*s_len >= len(msg)`` or ``pre_len`` too long → 10005; the message body not decryptable → 10006.

Our ``random_key`` choice: ``wrap_key`` is derived from the IV (:func:`_wrap_key_for_iv`), so
:func:`encrypt_chat_msg` can encrypt for any random key that :func:`new_random_key` made; a random
key from anywhere else cannot be used (it would have to decrypt to a protobuf under some key).

Media (``GetMediaData``)
------------------------
* ``sdkfileid`` = ``base64(MsgSdkFileId)``, protobuf ``{1: fileid, 2: authkey, 3: aeskey}``;
  ``aeskey`` is hex (we use 32 hex digits = an AES-128 key). Not base64 / not that protobuf → 10005.
* The library POSTs ``{"fileid":…,"authkey":…,"version":3}`` to ``/cgi-bin/message/getchatmediadata``
  with a ``Range:bytes=a-b`` header (0-524287 first, 512 KiB each).
* The stored file is ``AES-128-ECB(aeskey, PKCS7(plaintext))`` and ranges are over that ciphertext.
  The answer is JSON ``{"errcode":0,"errmsg":"ok","content":"<base64 of the ciphertext range>"}``
  with a response header spelled exactly ``CONTENT-RANGE: BYTES a-b/total`` (the library searches
  the raw headers case-sensitively). No such header, or ``b + 1 == total``, ends the file
  (``is_finish`` 1, PKCS7 padding stripped); otherwise ``outindexbuf`` becomes
  ``Range:bytes=<b+1>-<min(b+524288, total-1)>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import string
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CHUNK = 524288  # bytes of ciphertext the library asks for per GetMediaData call
_ALNUM = (string.ascii_letters + string.digits).encode("ascii")


# --------------------------------------------------------------------------- protobuf (tiny)

def _varint(n: int) -> bytes:
    if n < 0:
        n &= (1 << 64) - 1  # protobuf encodes negative int32 as 10-byte varints
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _pb_bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def _pb_int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _pb_fields(data: bytes) -> dict[int, bytes | int]:
    """Decode one protobuf message (varint and length-delimited fields only); last value wins."""
    out: dict[int, bytes | int] = {}
    i = 0

    def varint() -> int:
        nonlocal i
        shift = result = 0
        while True:
            if i >= len(data):
                raise ValueError("truncated varint")
            c = data[i]
            i += 1
            result |= (c & 0x7F) << shift
            shift += 7
            if c < 0x80:
                return result

    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            out[field] = varint()
        elif wire == 2:
            n = varint()
            if i + n > len(data):
                raise ValueError("truncated field")
            out[field] = data[i:i + n]
            i += n
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


# --------------------------------------------------------------------------- AES helpers

def _key(key: bytes, size: int) -> bytes:
    return (key[:size] + b"\0" * size)[:size]


def _cbc_encrypt(key: bytes, plaintext: bytes, iv: bytes | None = None) -> bytes:
    iv = os.urandom(16) if iv is None else iv
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(_key(key, 32)), modes.CBC(iv)).encryptor()
    return iv + enc.update(padded) + enc.finalize()


def _cbc_decrypt(key: bytes, data: bytes) -> bytes:
    if len(data) < 32 or len(data) % 16:
        raise ValueError("not IV + whole AES blocks")
    dec = Cipher(algorithms.AES(_key(key, 32)), modes.CBC(data[:16])).decryptor()
    padded = dec.update(data[16:]) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def _alnum(n: int) -> bytes:
    return bytes(secrets.choice(_ALNUM) for _ in range(n))


# --------------------------------------------------------------------------- chat messages

@dataclass(frozen=True)
class KeyInfo:
    """What a random key carries (the library's ``wwmsgauditsdk::SdkKeyInfo``)."""

    k1: bytes        # AES-256 key of the message body
    pre_len: int     # junk characters after the 45-character header
    s_len: int       # the body is split after s_len characters and s_len junk characters inserted
    end_len: int     # junk characters at the end

    def encode(self) -> bytes:
        return (_pb_bytes(1, self.k1) + _pb_int(2, self.pre_len) + _pb_int(3, self.end_len)
                + _pb_int(4, self.s_len))

    @classmethod
    def decode(cls, data: bytes) -> KeyInfo:
        f = _pb_fields(data)
        k1 = f.get(1, b"")
        return cls(k1=k1 if isinstance(k1, bytes) else b"", pre_len=int(f.get(2, 0)),
                   s_len=int(f.get(4, 0)), end_len=int(f.get(3, 0)))


def _wrap_key_for_iv(iv: bytes) -> bytes:
    """Our convention: the 32-character wrap key of a random key follows from its IV."""
    return hashlib.sha256(b"wecom-auditor-tests wrap key" + iv).hexdigest()[:32].encode("ascii")


def wrap_random_key(payload: bytes) -> bytes:
    """Low level: a random key carrying any ``payload`` (an encoded KeyInfo, or junk for tests)."""
    iv = os.urandom(16)
    return base64.b64encode(_cbc_encrypt(_wrap_key_for_iv(iv), payload, iv))


def wrap_key(random_key: bytes | str) -> bytes:
    """The 32 characters that must stand at ``encrypt_chat_msg[13:45]`` for this random key."""
    return _wrap_key_for_iv(base64.b64decode(random_key)[:16])


def new_random_key(info: KeyInfo | None = None) -> bytes:
    """A random key (what RSA-decrypting ``encrypt_random_key`` gives) that DecryptData accepts.

    88 ASCII characters (base64); fresh k1 and junk lengths unless ``info`` is given.
    """
    if info is None:
        info = KeyInfo(k1=_alnum(32), pre_len=secrets.randbelow(17), s_len=1 + secrets.randbelow(32),
                       end_len=secrets.randbelow(17))
    if info.s_len <= 0:
        raise ValueError("s_len must be positive (the library answers 10005 otherwise)")
    return wrap_random_key(info.encode())


def key_info(random_key: bytes | str) -> KeyInfo:
    """The KeyInfo inside a random key that :func:`new_random_key` made (ValueError otherwise)."""
    if isinstance(random_key, str):
        random_key = random_key.encode("ascii")
    try:
        raw = base64.b64decode(random_key, validate=True)
        return KeyInfo.decode(_cbc_decrypt(_wrap_key_for_iv(raw[:16]), raw))
    except ValueError as exc:
        raise ValueError(f"not a random key made by realformat.new_random_key: {exc}") from None


def encrypt_chat_msg(random_key: bytes | str, plaintext: bytes) -> str:
    """``encrypt_chat_msg`` that the real ``DecryptData(random_key, …)`` turns into ``plaintext``.

    ``random_key`` must come from :func:`new_random_key`. Every call uses fresh IVs and junk.
    """
    if isinstance(random_key, str):
        random_key = random_key.encode("ascii")
    info = key_info(random_key)
    body = base64.b64encode(_cbc_encrypt(info.k1, plaintext))
    s = info.s_len
    if s > len(body):
        raise ValueError("s_len is longer than the encrypted body")
    msg = (_alnum(13) + wrap_key(random_key) + _alnum(info.pre_len) + body[:s] + _alnum(s) + body[s:]
           + _alnum(info.end_len))
    if 2 * s >= len(msg):
        raise ValueError("s_len too long for this message")
    return msg.decode("ascii")


def corrupt_chat_msg(random_key: bytes | str, encrypt_chat_msg: str) -> str:
    """The message with 4 characters of its encrypted body removed: the real DecryptData then
    answers 10006 (the body is no longer whole AES blocks), deterministically."""
    info = key_info(random_key)
    at = 45 + info.pre_len + 2 * info.s_len  # start of the body's second part
    return encrypt_chat_msg[:at] + encrypt_chat_msg[at + 4:]


def decrypt_chat_msg(random_key: bytes | str, encrypt_chat_msg: str) -> bytes:
    """The inverse, in Python (what the real library does); raises ValueError on bad input."""
    if isinstance(random_key, str):
        random_key = random_key.encode("ascii")
    msg = encrypt_chat_msg.encode("ascii")
    if len(msg) < 45:
        raise ValueError("encrypt_chat_msg too short")
    info = KeyInfo.decode(_cbc_decrypt(msg[13:45], base64.b64decode(random_key)))
    s = info.s_len
    rest = msg[45 + info.pre_len:]
    rest = rest[:s] + rest[2 * s:]
    if info.end_len:
        rest = rest[:-info.end_len]
    return _cbc_decrypt(info.k1, base64.b64decode(rest))


# --------------------------------------------------------------------------- media

@dataclass(frozen=True)
class SdkFileId:
    """The library's ``wwmsgauditsdk::MsgSdkFileId``."""

    fileid: bytes
    authkey: bytes
    aeskey: bytes  # hex digits (ASCII)

    @property
    def key(self) -> bytes:
        """The AES-128 key the library derives from ``aeskey`` (hex pairs, at most 16 bytes)."""
        raw = bytes(int(self.aeskey[i:i + 2], 16) for i in range(0, len(self.aeskey) - 1, 2))
        return _key(raw, 16)


def make_sdkfileid(fileid: str | bytes, aeskey: bytes, authkey: str | bytes = b"") -> str:
    """An sdkfileid the real GetMediaData accepts: base64 of ``{fileid, authkey, hex(aeskey)}``.

    ``aeskey`` is the 16-byte AES-128 key the file is encrypted with (:func:`encrypt_media`).
    """
    if len(aeskey) != 16:
        raise ValueError("aeskey must be 16 bytes")
    fileid = fileid.encode("utf-8") if isinstance(fileid, str) else fileid
    authkey = authkey.encode("utf-8") if isinstance(authkey, str) else authkey
    raw = _pb_bytes(1, fileid) + _pb_bytes(2, authkey) + _pb_bytes(3, aeskey.hex().encode("ascii"))
    return base64.b64encode(raw).decode("ascii")


def add_aeskey(sdkfileid: str, aeskey: bytes) -> str:
    """An existing protobuf-style sdkfileid (fields 1 and 2, like the corpus generator's) with
    field 3 (``aeskey``) appended; any other string becomes the fileid of a new sdkfileid."""
    try:
        raw = base64.b64decode(sdkfileid, validate=True)
        fields = _pb_fields(raw)
        if not isinstance(fields.get(1), bytes) or 3 in fields:
            raise ValueError("not fields 1/2")
    except ValueError:
        return make_sdkfileid(sdkfileid, aeskey)
    return base64.b64encode(raw + _pb_bytes(3, aeskey.hex().encode("ascii"))).decode("ascii")


def parse_sdkfileid(sdkfileid: str | bytes) -> SdkFileId:
    f = _pb_fields(base64.b64decode(sdkfileid))
    parts = [f.get(n, b"") for n in (1, 2, 3)]
    if not all(isinstance(p, bytes) for p in parts):
        raise ValueError("not an MsgSdkFileId")
    return SdkFileId(*parts)


def original_sdkfileid(fileid: bytes, authkey: bytes) -> str:
    """The sdkfileid :func:`add_aeskey` started from, given the fileid/authkey the library sent."""
    return base64.b64encode(_pb_bytes(1, fileid) + _pb_bytes(2, authkey)).decode("ascii")


def media_key(secret: bytes, name: str | bytes) -> bytes:
    """A deterministic 16-byte AES key for a media file (so a stand-in needs no key table)."""
    name = name.encode("utf-8") if isinstance(name, str) else name
    return hashlib.sha256(b"wecom-auditor-tests media key" + secret + b"\0" + name).digest()[:16]


def encrypted_size(plain_size: int) -> int:
    """Size of ``AES-128-ECB(PKCS7(data))`` for ``plain_size`` bytes (always a multiple of 16)."""
    return (plain_size // 16 + 1) * 16


def encrypt_media(aeskey: bytes, data: bytes) -> bytes:
    """The whole stored file: ``AES-128-ECB(aeskey, PKCS7(data))``."""
    return encrypt_media_range(aeskey, data, 0, encrypted_size(len(data)) - 1)


def encrypt_media_range(aeskey: bytes, data: bytes, start: int, end: int) -> bytes:
    """Bytes ``start..end`` (inclusive) of :func:`encrypt_media` without encrypting the rest.

    ECB encrypts each 16-byte block alone, so a block-aligned range needs only its own blocks.
    ``start`` must be a multiple of 16; ``end`` is clamped to the last byte.
    """
    total = encrypted_size(len(data))
    end = min(end, total - 1)
    if start % 16 or start > end:
        raise ValueError(f"bad range {start}-{end} of {total}")
    last = (end // 16 + 1) * 16
    plain = data[start:min(last, len(data))]
    if last == total:  # the range includes the padding block
        pad = total - len(data)
        plain += bytes([pad]) * pad
    else:
        plain = plain[: last - start]
    enc = Cipher(algorithms.AES(_key(aeskey, 16)), modes.ECB()).encryptor()
    out = enc.update(plain) + enc.finalize()
    return out[: end - start + 1]


def media_body(ciphertext_range: bytes) -> bytes:
    """The getchatmediadata JSON answer carrying one range of the encrypted file."""
    return json.dumps({"errcode": 0, "errmsg": "ok",
                       "content": base64.b64encode(ciphertext_range).decode("ascii")},
                      separators=(",", ":")).encode("ascii")


def content_range_header(start: int, end: int, total: int) -> tuple[str, str]:
    """The response header, spelled as the library searches for it."""
    return "CONTENT-RANGE", f"BYTES {start}-{end}/{total}"


def parse_range(header_value: str) -> tuple[int, int] | None:
    """``bytes=a-b`` (the library sends ``Range:bytes=a-b``) → (a, b); None if not that form."""
    v = header_value.strip()
    if not v.lower().startswith("bytes="):
        return None
    a, _, b = v[6:].partition("-")
    try:
        return int(a), int(b)
    except ValueError:
        return None


# --------------------------------------------------------------------------- encrypt_sign

def encrypt_sign(access_token: str | bytes) -> str:
    """The ``encrypt_sign`` the library puts in getchatdata: a BKDR hash (×1313) of the token,
    64-bit, folded to 32 bits (low ^ high), as decimal. Bytes are read as signed chars."""
    token = access_token.encode("utf-8") if isinstance(access_token, str) else access_token
    h = 0
    for c in token:
        h = (h * 1313 + (c - 256 if c >= 128 else c)) & 0xFFFFFFFFFFFFFFFF
    return str((h ^ (h >> 32)) & 0xFFFFFFFF)
