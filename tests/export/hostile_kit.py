"""Crafting evidence packages for the verifier, without an archive: a small valid signed bag (folder
or zip), and zips written byte by byte so that every field can lie."""

from __future__ import annotations

import base64
import hashlib
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.export.package import TAG_FILES
from app.core.export.signing import key_fingerprint, public_pem

PAYLOAD = {
    "data/messages/0123456789abcdef0123456789abcdef/0123456789abcdef.json": b'{"msgid": "m1", "text": "hi"}',
    "data/media/" + "a" * 64 + ".jpg": b"\xff\xd8\xff not really a jpeg",
    "data/loadfile.csv": b"record_type,message_id\r\nmessage,m1\r\n",
    "data/custody.json": b"{}\n",
    "data/transcripts/0123456789abcdef0123456789abcdef.html": b"<!DOCTYPE html><p>hi</p>",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign_tags(root: Path, key: Ed25519PrivateKey) -> None:
    """(Re)write tagmanifest-sha256.txt and the signature over the tag files now in ``root``."""
    lines = "".join(f"{sha((root / n).read_bytes())}  {n}\n" for n in TAG_FILES if (root / n).is_file())
    (root / "tagmanifest-sha256.txt").write_bytes(lines.encode())
    (root / "signature-ed25519.sig").write_bytes(base64.b64encode(key.sign(lines.encode())) + b"\n")


def write_bag(root: Path, payload: dict[str, bytes] | None = None, *, key: Ed25519PrivateKey | None = None,
              manifest: bytes | None = None) -> Ed25519PrivateKey:
    """A valid signed bag at ``root`` (made here) holding ``payload``; ``manifest`` replaces the
    manifest's text (the rest is then signed over it as it is)."""
    payload = PAYLOAD if payload is None else payload
    key = key or Ed25519PrivateKey.generate()
    root.mkdir(parents=True)
    lines = []
    for rel, data in sorted(payload.items()):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        lines.append(f"{sha(data)}  {rel}\n")
    text = manifest if manifest is not None else "".join(lines).encode()
    (root / "manifest-sha256.txt").write_bytes(text)
    fp = hashlib.sha256(b"".join(ln for ln in text.splitlines(keepends=True)
                                 if b"  data/transcripts/" not in ln)).hexdigest()
    octets = sum(len(d) for d in payload.values())
    (root / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (root / "bag-info.txt").write_bytes(
        f"Payload-Oxum: {octets}.{len(payload)}\nPackage-Fingerprint: {fp}\n"
        f"Export-Key-Fingerprint: {key_fingerprint(key.public_key())}\n".encode())
    (root / "VERIFY.txt").write_bytes(b"how to verify\n")
    (root / "export-public-key.pem").write_bytes(public_pem(key.public_key()))
    sign_tags(root, key)
    return key


def zip_folder(root: Path, target: Path, name: str = "bag") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                zf.write(p, f"{name}/{p.relative_to(root).as_posix()}")
    return target


# ------------------------------------------------------------------------------------- raw zips

@dataclass
class RawEntry:
    """One zip entry; every field written as given (``None``: the honest value)."""

    name: bytes
    data: bytes = b""  # the bytes stored in the archive (already compressed for method 8)
    method: int = 0
    size: int | None = None  # declared uncompressed size
    crc: int | None = None
    flags: int = 0x800
    external_attr: int = 0o100644 << 16
    offset: int | None = None  # where the central directory says the local header is
    local_name: bytes | None = None
    plain: bytes | None = None  # the uncompressed bytes (for the honest size and CRC)


def deflate(data: bytes, level: int = 9) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def stored(name: str, data: bytes) -> RawEntry:
    return RawEntry(name.encode(), data, plain=data)


def deflated(name: str, data: bytes) -> RawEntry:
    return RawEntry(name.encode(), deflate(data), method=8, plain=data)


def raw_zip(entries: list[RawEntry], *, eocd_count: int | None = None, extra_locals: bool = True) -> bytes:
    """A zip of ``entries`` (local headers, data, central directory, end record), each field as given."""
    out = bytearray()
    offsets = []
    for e in entries:
        plain = e.plain if e.plain is not None else e.data
        size = len(plain) if e.size is None else e.size
        crc = zlib.crc32(plain) if e.crc is None else e.crc
        offsets.append(len(out))
        name = e.local_name if e.local_name is not None else e.name
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, e.flags, e.method, 0, 0x21, crc, len(e.data),
                           size & 0xFFFFFFFF, len(name), 0)
        out += name + e.data
    cd = bytearray()
    for e, off in zip(entries, offsets, strict=True):
        plain = e.plain if e.plain is not None else e.data
        size = len(plain) if e.size is None else e.size
        crc = zlib.crc32(plain) if e.crc is None else e.crc
        extra = b""
        usize32, off32 = size, e.offset if e.offset is not None else off
        if size >= 0xFFFFFFFF:
            extra = struct.pack("<2HQ", 1, 8, size)
            usize32 = 0xFFFFFFFF
        cd += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, e.flags, e.method, 0, 0x21, crc,
                          len(e.data), usize32, len(e.name), len(extra), 0, 0, 0, e.external_attr, off32)
        cd += e.name + extra
    count = len(entries) if eocd_count is None else eocd_count
    end64 = b""
    if count >= 0xFFFF:  # a zip64 end record and its locator carry the count
        at = len(out) + len(cd)
        end64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(cd), len(out))
        end64 += struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF), len(cd),
                       len(out), 0)
    return bytes(out + cd + end64 + eocd)


def repeated_deflate(block: bytes, times: int) -> tuple[bytes, int]:
    """Raw deflate data of ``block`` repeated ``times`` times, built in a moment (each block is
    compressed once and flushed, so its bytes repeat), and the CRC-32 of the whole."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    data = piece * times + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = 0
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    return data, crc
