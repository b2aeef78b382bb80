"""The CPU-bound step of a sync: RSA random key → DecryptData → parse, for a chunk of items.

It runs in worker processes (see pipeline.py for why processes, not threads): each worker loads
the private keys and the SDK library once in :func:`init_worker`, then handles chunks with
:func:`decrypt_chunk`. The same functions run in-process when ``workers == 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.core.messages import MessageParseError, ParsedMessage, parse_message
from app.core.sdk import (
    ChatDataItem,
    PrivateKeyRing,
    RandomKeyError,
    SdkError,
    UnknownKeyVersionError,
    decrypt_data,
    decrypt_random_key,
    load_library,
)

# Quarantine stages
STAGE_KEY, STAGE_DECRYPT, STAGE_PARSE = "key", "decrypt", "parse"


@dataclass(frozen=True, slots=True)
class Decrypted:
    item: ChatDataItem
    raw: bytes  # the message JSON exactly as DecryptData returned it
    parsed: ParsedMessage  # without ``content``: the writer does not need it, and pickling it back
    #                        from the worker processes costs more than parsing (re-parse ``raw``)


@dataclass(frozen=True, slots=True)
class Rejected:
    item: ChatDataItem
    stage: str
    error: str
    plaintext: bytes | None = None


_worker: dict = {}


def init_worker(library_path: str, pems: dict[int, str]) -> None:
    _worker["ring"] = PrivateKeyRing.from_pems(pems)
    _worker["lib"] = load_library(library_path)


def decrypt_item(item: ChatDataItem, ring: PrivateKeyRing, lib) -> Decrypted | Rejected:
    try:
        random_key = decrypt_random_key(item, ring)
    except UnknownKeyVersionError as exc:
        return Rejected(item, STAGE_KEY, str(exc))
    except RandomKeyError as exc:
        return Rejected(item, STAGE_KEY, str(exc))
    try:
        raw = decrypt_data(lib, random_key, item.encrypt_chat_msg)
    except SdkError as exc:
        # With PKCS#1 v1.5 implicit rejection a wrong private key surfaces here, not in RSA.
        return Rejected(item, STAGE_DECRYPT,
                        f"{exc} (if many entries of publickey_ver {item.publickey_ver} fail, "
                        f"the installed private key of that version is probably wrong)")
    try:
        parsed = parse_message(raw)
    except MessageParseError as exc:
        return Rejected(item, STAGE_PARSE, str(exc), plaintext=raw)
    return Decrypted(item, raw, replace(parsed, content=None))


def decrypt_chunk(items: list[ChatDataItem]) -> list[Decrypted | Rejected]:
    ring, lib = _worker["ring"], _worker["lib"]
    return [decrypt_item(item, ring, lib) for item in items]
