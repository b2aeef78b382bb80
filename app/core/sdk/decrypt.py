"""What an SDK host process does with a chat-archive entry: the entry's random key decrypted with the
corp's RSA private key, DecryptData, then the message JSON parsed — the CPU-bound step of a sync,
run where Tencent's library is loaded (:mod:`app.core.sdk.host`; the pool that hands entries out
is :class:`app.core.sync.decrypt.DecryptPool`).

An entry that cannot be decrypted or parsed is :class:`Rejected` with its stage, never raised: one
entry never stops a sync.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeAlias

from app.core.messages import MessageParseError, ParsedMessage, parse_message
from app.core.picklable import compact_pickle

from .binding import ChatDataItem, decrypt_data
from .errors import SdkError
from .keys import PrivateKeyRing, RandomKeyError, UnknownKeyVersionError, decrypt_random_key

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .binding import SdkLibrary

__all__ = ["STAGE_DECRYPT", "STAGE_KEY", "STAGE_PARSE", "Decrypted", "Rejected", "decrypt_item", "decrypt_items",
           "with_items"]

# Quarantine stages
STAGE_KEY, STAGE_DECRYPT, STAGE_PARSE = "key", "decrypt", "parse"


@compact_pickle
@dataclass(frozen=True, slots=True)
class Decrypted:
    item: ChatDataItem
    raw: bytes  # the message JSON exactly as DecryptData returned it
    parsed: ParsedMessage  # without ``content``: the writer does not need it, and pickling it back
    #                        from the worker processes costs more than parsing (re-parse ``raw``)


@compact_pickle
@dataclass(frozen=True, slots=True)
class Rejected:
    item: ChatDataItem
    stage: str
    error: str
    plaintext: bytes | None = None



def decrypt_item(item: ChatDataItem, ring: PrivateKeyRing, lib: SdkLibrary) -> Decrypted | Rejected:
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


# What an SDK host sends back per entry: a Decrypted without its item, as (raw, parsed) - the
# process that asked has the items, and sending them back doubled the bytes on the pipe - or the
# Rejected (with its item: the quarantine keeps it).
Answer: TypeAlias = tuple[bytes, ParsedMessage] | Rejected


def decrypt_items(items: Sequence[ChatDataItem], ring: PrivateKeyRing, lib: SdkLibrary) -> list[Answer]:
    """:func:`decrypt_item` of each of ``items``, as the answers an SDK host sends back."""
    answers: list[Answer] = []
    for item in items:
        outcome = decrypt_item(item, ring, lib)
        answers.append((outcome.raw, outcome.parsed) if isinstance(outcome, Decrypted) else outcome)
    return answers


def with_items(items: Sequence[ChatDataItem], answers: Sequence[Answer]) -> list[Decrypted | Rejected]:
    """The outcomes of ``items`` from an SDK host's answers to them (one per item, in order)."""
    return [answer if isinstance(answer, Rejected) else Decrypted(item, *answer)
            for item, answer in zip(items, answers, strict=True)]
