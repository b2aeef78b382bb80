"""Identifiers shaped like WeCom's: msgids, sdkfileids, meeting and call ids.

Uniqueness never needs a set of everything issued (a million msgids would cost ~100 MB): each id
embeds an odd-multiplier permutation of the entry or media counter, which is a bijection on the
counter's bit width, so distinct counters give distinct ids.
"""

from __future__ import annotations

import base64
import random

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class IdMaker:
    def __init__(self, seed: int) -> None:
        rng = random.Random(f"wecom-corpus/ids/{seed}")
        self._salt32 = rng.getrandbits(32)
        self._salt64 = rng.getrandbits(64)
        self._corp = rng.getrandbits(53) | (1 << 52)
        self._switch_salt = rng.getrandbits(64)

    def msgid_pb(self, n: int, t_s: int) -> str:
        """Older style: base64 of a small protobuf, e.g. "CAQQluDa4QUY0On2rYSAgAMgzPrShAE="."""
        uniq = (n * 0x9E3779B1 + self._salt32) & _MASK32
        raw = b"\x08\x04\x10" + _varint(t_s) + b"\x18" + _varint(self._corp) + b"\x20" + _varint(uniq)
        return base64.b64encode(raw).decode("ascii")

    def msgid_num(self, n: int, t_s: int, external: bool) -> str:
        """Newer style: "14822339130656386894_1603875600" (+ "_external")."""
        uniq = (n * 0x9E3779B97F4A7C15 + self._salt64) & _MASK64
        return f"{uniq}_{t_s}_external" if external else f"{uniq}_{t_s}"

    def msgid_switch(self, n: int) -> str:
        """Switch entries carry a bare number: "125289002219525886280"."""
        return f"1{(n * 0xD1B54A32D192ED03 + self._switch_salt) & _MASK64:020d}"

    @staticmethod
    def sdkfileid(n: int, rng: random.Random, t_s: int) -> str:
        """A long base64 string (about 170-240 characters), like WeCom's "CtYBMzA2OTAy..."."""
        inner = (
            "3069020102046230600201000204"
            + f"{rng.getrandbits(32):08x}020300f4240204{n:08x}0204{t_s & _MASK32:08x}0410"
            + rng.randbytes(16).hex()
            + rng.randbytes(rng.randint(0, 14)).hex()
            + "0201010201000400"
        ).encode("ascii")
        tail = base64.b64encode(f"{rng.randint(1, 99)}_{rng.getrandbits(50)}_{n}".encode("ascii"))
        raw = b"\x0a" + _varint(len(inner)) + inner + b"\x12" + _varint(len(tail)) + tail
        return base64.b64encode(raw).decode("ascii")

    @staticmethod
    def call_id(rng: random.Random) -> str:
        """voiceid / voipid: "grb8a4c48a3c094a70982c518d55e40557"."""
        return "gr" + rng.randbytes(16).hex()
