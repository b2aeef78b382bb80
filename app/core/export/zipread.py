"""A small, suspicious zip reader for packages that come from outside.

Python's ``zipfile`` trusts the archive: it reads the whole central directory into memory before
anything can be checked, raises a different exception for every oddity (NotImplementedError for
a compression method, RuntimeError for encryption, BadZipFile for the rest) and never looks at
whether entries overlap. Here the end record is read first (entry count and directory size are
checked against the limits before a single entry is parsed), the central directory is streamed,
every entry is checked (name, method, encryption, type, declared sizes, overlap) and each problem
becomes one sentence. An entry is read by inflating at most its declared size, in small pieces,
with its CRC-32 and length checked at the end.

Only the two methods our packages use are read: stored (0) and deflate (8).
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from app.core.safe_text import display_name, needs_escape

STORED, DEFLATED = 0, 8
METHOD_NAMES = {1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "LZMA", 93: "zstd", 95: "xz",
                98: "PPMd", 99: "AES encryption"}
_EOCD = struct.Struct("<4s4H2LH")  # signature, disk, cd disk, entries on disk, entries, cd size, cd offset, comment
_LOC64 = struct.Struct("<4sLQL")  # zip64 end locator: signature, disk, zip64 end offset, disks
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # signature, size, versions, disk, cd disk, entries on disk, entries, size, offset
_CDIR = struct.Struct("<4s4B4HL2L5H2L")  # central directory file header (46 bytes)
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header (30 bytes)
_CHUNK = 1 << 16
_DRIVE = re.compile(r"^[A-Za-z]:")


MAX_VERSION_NEEDED = 63  # "version needed to extract" 6.3, the highest zip tools read (Python's zipfile too)


class ZipProblem(Exception):
    """The archive cannot be read further (the message says why, in one sentence)."""


class EntryProblem(Exception):
    """One entry cannot be read (the message says why); the others can."""


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    offset: int  # of the local header
    compressed: int
    size: int
    method: int
    crc: int
    raw_name: bytes


def name_problem(name: str) -> str | None:
    """Why a member or manifest path is unsafe to use as a path inside the bag, or None."""
    if not name:
        return "an empty name"
    if name.startswith(("/", "\\")):
        return "an absolute path"
    if _DRIVE.match(name):
        return "a drive letter"
    if "\\" in name:
        return "a backslash"
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        return "a '..' component"
    if "." in parts or "" in parts:
        return "an empty or '.' component"
    if needs_escape(name):
        return "control or invisible characters"
    return None


def _kind_of_mode(mode: int) -> str | None:
    kind = stat.S_IFMT(mode)
    if kind in (0, stat.S_IFREG, stat.S_IFDIR):
        return None
    return {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
            stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}.get(kind, "a special file")


class ZipReader:
    """The regular-file entries of a zip, checked as described in the module docstring.

    ``problem(text)`` receives each entry-level problem; :class:`ZipProblem` is raised for what
    stops the whole archive (not a zip, too many entries, a zip bomb, overlapping entries).
    Memory: one small record per accepted entry (at most ``max_entries``)."""

    def __init__(self, f: io.BufferedReader, size: int, problem: Callable[[str], None], *, max_entries: int,
                 max_name: int, max_ratio: int, bomb_floor: int):
        self.f, self.file_size, self.problem = f, size, problem
        self.entries: dict[str, Entry] = {}
        self.directories: set[str] = set()
        count, cd_size, cd_offset = self._end_record()
        if count > max_entries:
            raise ZipProblem(f"too many entries: the zip declares {count} entries (at most {max_entries} are read); "
                             "nothing was hashed")
        if cd_offset + cd_size > self.file_size:
            raise ZipProblem("bad zip: its central directory lies beyond the end of the file")
        self.cd_offset = cd_offset
        self._read_directory(count, cd_size, cd_offset, max_name)
        self._check_extent(max_ratio, bomb_floor)

    # ------------------------------------------------------------------ the directory
    def _end_record(self) -> tuple[int, int, int]:
        tail_len = min(self.file_size, _EOCD.size + 0xFFFF)
        self.f.seek(self.file_size - tail_len)
        tail = self.f.read(tail_len)
        pos = tail.rfind(b"PK\x05\x06")
        while pos >= 0 and pos + _EOCD.size > len(tail):
            pos = tail.rfind(b"PK\x05\x06", 0, pos)
        if pos < 0:
            raise ZipProblem("not a zip: no end of central directory record")
        _sig, disk, cd_disk, _on_disk, count, cd_size, cd_offset, _comment = _EOCD.unpack_from(tail, pos)
        eocd_at = self.file_size - tail_len + pos
        if 0xFFFF in (count, disk, cd_disk) or 0xFFFFFFFF in (cd_size, cd_offset):
            loc_at = eocd_at - _LOC64.size
            if loc_at < 0:
                raise ZipProblem("bad zip: a zip64 archive without its zip64 end locator")
            self.f.seek(loc_at)
            sig, _disk, end64_at, disks = _LOC64.unpack(self.f.read(_LOC64.size))
            if sig != b"PK\x06\x07" or end64_at + _EOCD64.size > loc_at:
                raise ZipProblem("bad zip: a zip64 archive without a valid zip64 end locator")
            if disks > 1:
                raise ZipProblem("unsupported zip: a multi-part (spanned) archive")
            self.f.seek(end64_at)
            (sig, _size, _made, _need, disk, cd_disk, _on_disk, count, cd_size,
             cd_offset) = _EOCD64.unpack(self.f.read(_EOCD64.size))
            if sig != b"PK\x06\x06":
                raise ZipProblem("bad zip: the zip64 end record is missing")
            eocd_at = end64_at
        if disk or cd_disk:
            raise ZipProblem("unsupported zip: a multi-part (spanned) archive")
        if cd_offset + cd_size != eocd_at:
            raise ZipProblem("bad zip: the central directory is not where the end record says (data was "
                             "added before or inside the zip)")
        return count, cd_size, cd_offset

    def _read_directory(self, count: int, cd_size: int, cd_offset: int, max_name: int) -> None:
        self.f.seek(cd_offset)
        left = cd_size
        seen_folded: dict[str, str] = {}
        duplicates: set[str] = set()
        for _ in range(count):
            if left < _CDIR.size:
                raise ZipProblem("bad zip: the central directory is shorter than the entries it declares")
            head = self.f.read(_CDIR.size)
            (sig, _made_ver, made_os, need_ver, _need_os, flags, method, _time, _date, crc, csize, usize,
             name_len, extra_len, comment_len, _disk, _iattr, eattr, offset) = _CDIR.unpack(head)
            if sig != b"PK\x01\x02":
                raise ZipProblem("bad zip: a damaged central directory entry")
            rest = name_len + extra_len + comment_len
            left -= _CDIR.size + rest
            if left < 0:
                raise ZipProblem("bad zip: a central directory entry runs past the directory's end")
            raw_name = self.f.read(name_len)
            extra = self.f.read(extra_len)
            self.f.seek(comment_len, os.SEEK_CUR)
            usize, csize, offset = _zip64(extra, usize, csize, offset)
            name = raw_name.decode("utf-8", "surrogateescape") if flags & 0x800 else raw_name.decode("cp437")
            shown = display_name(name, limit=300)
            if name_len > max_name:
                self.problem(f"unsafe name in the zip: an entry name of {name_len} bytes (at most {max_name}): "
                             f"{shown}")
                continue
            if flags & 0x800 and any(0xDC80 <= ord(c) <= 0xDCFF for c in name):
                self.problem(f"unsafe name in the zip: {shown} is marked UTF-8 but is not")
                continue
            why = name_problem(name)
            if why:
                self.problem(f"unsafe name in the zip: {shown} has {why}")
                continue
            kind = _kind_of_mode(eattr >> 16) if made_os == 3 else None  # 3: Unix permissions in the high word
            if kind:
                self.problem(f"not a regular file: {shown} is {kind} in the zip (not followed)")
                continue
            if name.endswith("/"):
                self.directories.add(name)
                continue
            if flags & 0x1 or method == 99:
                self.problem(f"encrypted zip entry: {shown} (packages are never encrypted)")
                continue
            if need_ver > MAX_VERSION_NEEDED:  # standard unzip tools (Python's zipfile) refuse such an entry
                self.problem(f"unsupported zip entry: {shown} needs zip version {need_ver // 10}.{need_ver % 10} "
                             f"to extract (packages need at most 4.5; 6.3 is read)")
                continue
            if method not in (STORED, DEFLATED):
                label = METHOD_NAMES.get(method, "unknown")
                self.problem(f"unsupported compression: {shown} uses method {method} ({label}); only stored "
                             "and deflate are read")
                continue
            if method == STORED and csize != usize:
                self.problem(f"damaged zip entry: {shown} is stored but its sizes differ ({csize} and {usize})")
                continue
            if name in self.entries or name in duplicates:
                if name not in duplicates:
                    self.problem(f"duplicate name in the zip: {shown} appears more than once (neither copy "
                                 "is read)")
                    duplicates.add(name)
                    del self.entries[name]
                continue
            folded = unicodedata.normalize("NFC", name).casefold()
            if folded in seen_folded:
                self.problem(f"duplicate name in the zip: {shown} and {display_name(seen_folded[folded], limit=300)} "
                             "differ only in case or Unicode form (one overwrites the other when unzipped)")
            seen_folded[folded] = name
            self.entries[name] = Entry(name, offset, csize, usize, method, crc, raw_name)

    def _check_extent(self, max_ratio: int, bomb_floor: int) -> None:
        total = sum(e.size for e in self.entries.values())
        allowed = max(bomb_floor, self.file_size * max_ratio)
        if total > allowed:
            raise ZipProblem(f"zip bomb: the entries declare {total} bytes uncompressed, "
                             f"{total // max(self.file_size, 1)} times the zip's {self.file_size} bytes (at most "
                             f"{max_ratio} times, or {bomb_floor} bytes, are read); nothing was hashed")
        spans = sorted((e.offset, e.offset + _LOCAL.size + len(e.raw_name) + e.compressed, e.name)
                       for e in self.entries.values())
        for (_start, end, name), (nstart, _nend, nname) in zip(spans, spans[1:], strict=False):
            if nstart < end:
                raise ZipProblem(f"overlapping zip entries: {display_name(name, limit=300)} and "
                                 f"{display_name(nname, limit=300)} share their data (a zip bomb); nothing was hashed")
        if spans and spans[-1][1] > self.cd_offset:
            raise ZipProblem(f"bad zip: the data of {display_name(spans[-1][2], limit=300)} runs into the central "
                             "directory")

    # ------------------------------------------------------------------ reading an entry
    def chunks(self, entry: Entry, limit: int | None = None) -> Iterator[bytes]:
        """The entry's bytes, in pieces of at most 64 KiB; EntryProblem when its data, size or CRC-32
        do not match the directory. ``limit``: EntryProblem as soon as more bytes than that come."""
        shown = display_name(entry.name, limit=300)
        self.f.seek(entry.offset)
        head = self.f.read(_LOCAL.size)
        if len(head) < _LOCAL.size:
            raise EntryProblem(f"damaged zip entry: {shown} (its local header is missing)")
        sig, _ver, flags, method, _t, _d, _crc, _cs, _us, name_len, extra_len = _LOCAL.unpack(head)
        if sig != b"PK\x03\x04":
            raise EntryProblem(f"damaged zip entry: {shown} (no local header where the directory says)")
        if self.f.read(name_len) != entry.raw_name:
            raise EntryProblem(f"damaged zip entry: {shown} (its local header names another file)")
        if flags & 0x1 or method != entry.method:
            raise EntryProblem(f"damaged zip entry: {shown} (its local header differs from the directory)")
        start = entry.offset + _LOCAL.size + name_len + extra_len
        if start + entry.compressed > self.cd_offset:
            raise EntryProblem(f"damaged zip entry: {shown} (its data runs into the central directory)")
        self.f.seek(start)
        crc, total = 0, 0
        cap = entry.size if limit is None else min(entry.size, limit)
        if entry.method == STORED:
            left = entry.compressed
            while left:
                data = self.f.read(min(left, _CHUNK))
                if not data:
                    raise EntryProblem(f"damaged zip entry: {shown} (its data is cut short)")
                left -= len(data)
                total += len(data)
                if total > cap:
                    raise EntryProblem(_too_big(shown, entry, limit))
                crc = zlib.crc32(data, crc)
                yield data
        else:
            d = zlib.decompressobj(-15)
            left, pending = entry.compressed, b""
            while not d.eof:
                if not pending and left:
                    pending = self.f.read(min(left, _CHUNK))
                    if not pending:
                        raise EntryProblem(f"damaged zip entry: {shown} (its data is cut short)")
                    left -= len(pending)
                try:
                    out = d.decompress(pending, _CHUNK)
                except zlib.error as exc:
                    raise EntryProblem(f"damaged zip entry: {shown} (deflate data: {exc})") from None
                pending = d.unconsumed_tail
                if out:
                    total += len(out)
                    if total > cap:
                        raise EntryProblem(_too_big(shown, entry, limit))
                    crc = zlib.crc32(out, crc)
                    yield out
                elif not pending and not left:
                    break
            if not d.eof or pending or left or d.unused_data:
                raise EntryProblem(f"damaged zip entry: {shown} (its deflate data is cut short or has bytes after it)")
        if total != entry.size:
            raise EntryProblem(f"damaged zip entry: {shown} (holds {total} bytes, the directory says {entry.size})")
        if crc != entry.crc:
            raise EntryProblem(f"damaged zip entry: {shown} (CRC-32 mismatch)")


def _too_big(shown: str, entry: Entry, limit: int | None) -> str:
    if limit is not None and limit < entry.size:
        return f"file too large: {shown} is larger than {limit} bytes"
    return f"damaged zip entry: {shown} (expands beyond its declared {entry.size} bytes)"


def _zip64(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from the zip64 extra field, for those the 32-bit fields mark 0xFFFFFFFF (a
    0xFFFFFFFF without that field is taken as it is)."""
    values: list[int] = []
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<2H", extra, pos)
        if tag == 0x0001:
            body = extra[pos + 4:pos + 4 + size]
            values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
            break
        pos += 4 + size
    fields = [usize, csize, offset]
    for i, value in enumerate(fields):
        if value == 0xFFFFFFFF and values:
            fields[i] = values.pop(0)
    return fields[0], fields[1], fields[2]
