"""Checking an evidence package: every file, the Payload-Oxum, the signature, and (given the
archive) whether the signing key is one of this archive's export keys and the package one of its
recorded exports.

A package to verify comes from outside: it is hostile input. So:

- Nothing is read whole into memory: tag files are streamed line by line (a line may be at most
  ``Limits.max_line`` bytes), the small ones are refused above ``Limits.max_tag_bytes``, the manifest
  above ``Limits.max_manifest_bytes``, and the manifest may list at most as many files as the
  package holds (plus ``Limits.max_problems``).
- Sizes are checked before anything is hashed: the Payload-Oxum against the files present, a zip's
  declared sizes against its own size (a zip bomb is named, not inflated), its entry count against
  ``Limits.max_files``; overlapping, encrypted, unsupported (not stored/deflate), duplicate,
  absolute, ``..``, backslash or drive-letter entries are named problems (see zipread.py).
- Links are never followed: a symbolic link inside a folder package (to a file, a folder, itself,
  or nothing) is a named problem, as are FIFOs, sockets and devices; files are opened with
  O_NOFOLLOW component by component. A package path that is itself a symbolic link is not checked
  (the report names the link and its target): a report must say exactly what it checked, and
  that is the folder or zip by its own path.
- Every name from the package in a problem passes through :func:`display_name`, so a hostile
  name cannot disguise itself (``⟨U+202E⟩``) or break the report's lines.
- Every problem is one sentence; nothing from a package raises out of :func:`verify_package`.
  At most ``Limits.max_problems`` are listed, then how many more there were.

A large package takes as long as reading it: ``progress(done, total)`` is told the bytes hashed so far
(of every file's size found), and ``cancel()`` returning True stops the check (VerifyCancelled).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets as _secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import SaidInTwoLanguages
from app.core.safe_text import display_name

from .package import PUBLIC_KEY_FILE, SIGNATURE_FILE
from .signing import verify_signature
from .zipread import EntryProblem, ZipProblem, ZipReader, name_problem

MANIFEST, TAGMANIFEST = "manifest-sha256.txt", "tagmanifest-sha256.txt"
REQUIRED = ("bagit.txt", "bag-info.txt", MANIFEST, TAGMANIFEST, SIGNATURE_FILE, PUBLIC_KEY_FILE)
_SMALL_TAG_FILES = ("bagit.txt", "bag-info.txt", TAGMANIFEST, SIGNATURE_FILE, PUBLIC_KEY_FILE)
_READ = 1 << 20
_SECURE_OPEN = os.open in os.supports_dir_fd and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")


@dataclass(frozen=True)
class Limits:
    """What a package may hold before verify stops reading it (each overstep is a named problem)."""

    max_files: int = 1_000_000  # files and folders in the package (zip entries)
    max_manifest_bytes: int = 512 * 2**20  # manifest-sha256.txt (~130 bytes a file)
    max_tag_bytes: int = 2**20  # bagit.txt, bag-info.txt, tagmanifest-sha256.txt, signature, public key
    max_line: int = 4096  # one line of a manifest
    max_name: int = 1024  # a path inside the package, in bytes
    max_ratio: int = 100  # a zip's declared uncompressed bytes / its size ...
    bomb_floor: int = 256 * 2**20  # ... checked above this many bytes
    max_problems: int = 500  # problems listed (then "and N more")


LIMITS = Limits()


@dataclass
class VerifyReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    fingerprint: str | None = None  # the package fingerprint, recomputed from the manifest
    key_fingerprint: str | None = None
    files_checked: int = 0


# Every problem starts with its kind ("missing file: data/x.json"): the CLI and the audit trail keep
# the English line; a Chinese window shows the kind in Chinese and the rest (names, digests) as found.
PROBLEM_KINDS = {
    "bad Payload-Oxum": "Payload-Oxum 不符", "bad bag-info.txt": "bag-info.txt 有误",
    "bad bagit.txt": "bagit.txt 有误", "bad public key": "公钥有误", "bad signature": "签名无效",
    "bad zip": "zip 文件有误", "changed file": "文件被改动", "damaged zip entry": "zip 条目损坏",
    "duplicate entry": "重复条目", "duplicate name in the zip": "zip 中有重复名称",
    "encrypted zip entry": "加密的 zip 条目", "extra file": "多出的文件", "file too large": "文件过大",
    "fingerprint mismatch": "指纹不符", "key mismatch": "密钥不符", "line too long": "行过长",
    "missing file": "缺少文件", "not a package folder or zip": "不是证据包文件夹或 zip",
    "not a regular file": "不是普通文件", "not a zip": "不是 zip 文件", "not checked": "未校验",
    "not recorded": "本存档无记录", "overlapping zip entries": "zip 条目重叠", "symbolic link": "符号链接",
    "too many entries": "条目过多", "too many files": "文件过多", "unknown key": "未知密钥",
    "unreadable file": "无法读取的文件", "unreadable folder": "无法读取的文件夹",
    "unreadable package": "无法读取的证据包", "unsafe name in the package": "证据包中有不安全的名称",
    "unsafe name in the zip": "zip 中有不安全的名称", "unsigned file": "未签名的文件",
    "unsupported compression": "不支持的压缩方式", "unsupported zip": "不支持的 zip",
    "unsupported zip entry": "不支持的 zip 条目", "zip bomb": "zip 炸弹",
}


def problem_in_chinese(problem: str) -> str:
    """``problem`` with its kind said in Chinese ("缺少文件：data/x.json"); the rest as it is."""
    kind, sep, rest = problem.partition(": ")
    if sep and kind in PROBLEM_KINDS:
        return f"{PROBLEM_KINDS[kind]}：{rest}"
    more = re.fullmatch(r"… and (\d+) more problem\(s\), not listed", problem)
    return f"……另有 {more.group(1)} 个问题未列出" if more else problem


class VerifyCancelled(SaidInTwoLanguages):
    """The caller cancelled the check; nothing was concluded about the package."""

    def __init__(self) -> None:
        super().__init__("the verification was cancelled; nothing was concluded about the package",
                         "校验已取消；未对证据包得出任何结论")


class _Stop(Exception):
    """The package cannot be checked further; the message is the problem."""


class _Problems(list):
    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.more = limit, 0
        self._seen: set[str] = set()

    def add(self, text: str) -> None:
        if text in self._seen:  # the same file refused twice (as a tag file and in the tag manifest)
            return
        self._seen.add(text)
        if len(self) < self.limit:
            self.append(text)
        else:
            self.more += 1

    def final(self) -> list[str]:
        return list(self) + ([f"… and {self.more} more problem(s), not listed"] if self.more else [])


def _kind(mode: int) -> str:
    return {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
            stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
            stat.S_IFDIR: "a folder"}.get(stat.S_IFMT(mode), "not a regular file")


# ---------------------------------------------------------------------------------------- a folder

class _Folder:
    """The regular files of a bag folder, never through a link."""

    def __init__(self, root: Path, problems: _Problems, limits: Limits):
        self.root, self.problems, self.limits = root, problems, limits
        self.root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW) if _SECURE_OPEN else None

    def close(self) -> None:
        if self.root_fd is not None:
            os.close(self.root_fd)
            self.root_fd = None

    def _open_dir(self, rel: str) -> int:
        """A descriptor of the folder ``rel`` (no component may be a link)."""
        fd = os.dup(self.root_fd)
        try:
            for part in rel.split("/") if rel else ():
                nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        return fd

    def walk(self, report: bool) -> Iterator[tuple[str, int]]:
        """(path, size) of every regular file; links, special files and unsafe names are problems
        (when ``report``) and skipped. _Stop beyond ``max_files`` entries."""
        problem = self.problems.add if report else (lambda text: None)
        stack, count = [""], 0
        while stack:
            d = stack.pop()
            dfd = None
            try:
                if self.root_fd is not None:
                    dfd = self._open_dir(d)  # open while the listing is read: its entries stat through it
                    listing = os.scandir(dfd)
                else:
                    if d and (Path(self.root, d).is_symlink() or getattr(os.path, "isjunction", bool)(
                            str(Path(self.root, d)))):
                        raise OSError(errno.ELOOP, "a link")
                    listing = os.scandir(Path(self.root, d))
            except OSError as exc:
                if dfd is not None:
                    os.close(dfd)
                problem(_os_problem(d or ".", exc, folder=True))
                continue
            try:
                with listing:
                    for e in listing:
                        count += 1
                        if count > self.limits.max_files:
                            raise _Stop(f"too many files: the package holds more than {self.limits.max_files} "
                                        "files and folders; nothing was hashed")
                        rel = f"{d}/{e.name}" if d else e.name
                        shown = display_name(rel, limit=300)
                        why = name_problem(rel)
                        if why is None and len(rel.encode("utf-8", "surrogateescape")) > self.limits.max_name:
                            why = f"more than {self.limits.max_name} bytes"
                        if why:
                            problem(f"unsafe name in the package: {shown} has {why}")
                            continue
                        try:
                            if e.is_symlink() or getattr(e, "is_junction", bool)():
                                problem(f"symbolic link: {shown} (to {display_name(self._link_target(e, dfd), limit=300)}); "
                                        "links are never followed")
                            elif e.is_dir(follow_symlinks=False):
                                stack.append(rel)
                            elif e.is_file(follow_symlinks=False):
                                yield rel, e.stat(follow_symlinks=False).st_size
                            else:
                                problem(f"not a regular file: {shown} is "
                                        f"{_kind(e.stat(follow_symlinks=False).st_mode)}")
                        except OSError as exc:
                            problem(_os_problem(rel, exc))
            finally:
                if dfd is not None:
                    os.close(dfd)

    @staticmethod
    def _link_target(e: os.DirEntry, dfd: int | None) -> str:
        try:
            return os.readlink(e.name, dir_fd=dfd) if dfd is not None else os.readlink(e.path)
        except (OSError, ValueError, NotImplementedError):
            return "?"

    def chunks(self, rel: str, limit: int | None = None) -> Iterator[bytes]:
        """The bytes of the regular file ``rel``; EntryProblem if it is a link, not a regular file,
        unreadable or larger than ``limit``."""
        shown = display_name(rel, limit=300)
        try:
            if self.root_fd is not None:
                parent, _, name = rel.rpartition("/")
                dfd = self._open_dir(parent)
                try:
                    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0),
                                 dir_fd=dfd)
                finally:
                    os.close(dfd)
            else:
                path = Path(self.root, rel)
                for p in (path, *path.parents):
                    if p == self.root:
                        break
                    if p.is_symlink():
                        raise OSError(errno.ELOOP, "a link")
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise EntryProblem(_os_problem(rel, exc)) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise EntryProblem(f"not a regular file: {shown} is {_kind(st.st_mode)}")
            if limit is not None and st.st_size > limit:
                raise EntryProblem(f"file too large: {shown} is {st.st_size} bytes (at most {limit} are read)")
            total = 0
            while True:
                try:
                    data = os.read(fd, _READ)
                except OSError as exc:
                    raise EntryProblem(_os_problem(rel, exc)) from None
                if not data:
                    return
                total += len(data)
                if limit is not None and total > limit:
                    raise EntryProblem(f"file too large: {shown} grew beyond {limit} bytes while it was read")
                yield data
        finally:
            os.close(fd)


def _os_problem(rel: str, exc: OSError, *, folder: bool = False) -> str:
    shown = display_name(rel, limit=300)
    if exc.errno in (errno.ELOOP, errno.EMLINK) or (exc.errno == errno.ENOTDIR and folder):
        return f"symbolic link: {shown} is a link or lies behind one; links are never followed"
    if exc.errno == errno.ENOTDIR:
        return f"symbolic link: a folder on the way to {shown} is a link or not a folder; links are never followed"
    if exc.errno == errno.ENOENT:
        return f"missing file: {shown}"
    return f"unreadable {'folder' if folder else 'file'}: {shown} ({exc.strerror or exc})"


# ---------------------------------------------------------------------------------------- a zip

class _Zip:
    """The files of a bag inside a zip: every entry under one top folder (``<name>/...``)."""

    def __init__(self, f, size: int, problems: _Problems, limits: Limits):
        self.f = f
        self.reader = ZipReader(f, size, problems.add, max_entries=limits.max_files, max_name=limits.max_name,
                                max_ratio=limits.max_ratio, bomb_floor=limits.bomb_floor)
        names = self.reader.entries
        bags = sorted({n[: -len("bagit.txt")] for n in names if n.count("/") == 1 and n.endswith("/bagit.txt")})
        if len(bags) > 1:
            raise _Stop("bad zip: it holds more than one bag folder ("
                        + ", ".join(display_name(b, limit=100) for b in bags[:5]) + "); nothing was hashed")
        if bags:
            prefix = bags[0]
        else:
            tops = {n.split("/", 1)[0] for n in (*names, *self.reader.directories) if "/" in n}
            prefix = (tops.pop() + "/") if len(tops) == 1 else ""
            if not prefix:
                problems.add("bad zip: the bag's files must all be inside one folder of the zip")
        self.files = {}
        for name, entry in names.items():
            rel = name[len(prefix):] if prefix and name.startswith(prefix) else None
            if not rel:
                problems.add(f"extra file: {display_name(name, limit=300)} (outside the bag's folder in the zip)")
                continue
            self.files[rel] = entry

    def close(self) -> None:
        self.f.close()

    def walk(self, report: bool) -> Iterator[tuple[str, int]]:
        for rel, entry in self.files.items():
            yield rel, entry.size

    def chunks(self, rel: str, limit: int | None = None) -> Iterator[bytes]:
        entry = self.files[rel]
        if limit is not None and entry.size > limit:
            raise EntryProblem(f"file too large: {display_name(rel, limit=300)} is {entry.size} bytes (at most "
                               f"{limit} are read)")
        return self.reader.chunks(entry, limit)


# ---------------------------------------------------------------------------------------- reading

class _LineTooLong(Exception):
    def __init__(self, lineno: int):
        self.lineno = lineno


def _lines(chunks: Iterator[bytes], max_line: int) -> Iterator[tuple[int, bytes]]:
    """(number, line with its "\\n") of a stream; _LineTooLong for a line longer than ``max_line``."""
    buf = bytearray()
    n = 0
    for chunk in chunks:
        buf += chunk
        start = 0
        while (nl := buf.find(b"\n", start)) >= 0:
            n += 1
            if nl - start > max_line:
                raise _LineTooLong(n)
            yield n, bytes(buf[start:nl + 1])
            start = nl + 1
        del buf[:start]
        if len(buf) > max_line:
            raise _LineTooLong(n + 1)
    if buf:
        yield n + 1, bytes(buf)


def _parse_line(raw: bytes) -> tuple[str, str] | str | None:
    """``(sha256, path)`` of a manifest line, None for a blank line, or why the line is bad."""
    try:
        text = raw.rstrip(b"\r\n").decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if not text.strip():
        return None
    digest, sep, rel = text.partition(" ")
    rel = rel.lstrip(" *")  # "<sha256>  <path>", or sha256sum's binary mark "<sha256> *<path>"
    if not sep or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
        return "not '<sha256>  <path>'"
    why = name_problem(rel)
    if why:
        return f"the path {display_name(rel, limit=300)} has {why}"
    return digest.lower(), rel


def _sha256(chunks: Iterator[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()




def package_fingerprint(manifest_lines: list[str]) -> str:
    """SHA-256 of the manifest lines of every payload file outside data/transcripts/ (in order)."""
    h = hashlib.sha256()
    for line in manifest_lines:
        if "  data/transcripts/" not in line:
            h.update(line.encode("utf-8"))
    return h.hexdigest()


# ---------------------------------------------------------------------------------------- the check

def verify_package(path: str | os.PathLike[str], *, known_key_fingerprints: set[str] | None = None,
                   is_recorded: Callable[[str, str], bool] | None = None,
                   limits: Limits = LIMITS, progress: Callable[[int, int], None] | None = None,
                   cancel: Callable[[], bool] | None = None) -> VerifyReport:
    """Check the package at ``path`` (a bag folder or a .zip holding one); see the module docstring.

    ``known_key_fingerprints``: the export keys of this archive (see :func:`known_keys`); when given,
    a package signed with another key is reported. ``is_recorded(fingerprint, key_fingerprint)``:
    whether the archive recorded that export; when given, a package signed with one of the known
    keys that the archive never recorded is reported. ``progress(done, total)``: bytes hashed so far;
    ``cancel()`` returning True raises VerifyCancelled. Never raises for anything in the package;
    memory stays bounded by ``limits``."""
    root = Path(path)
    problems = _Problems(limits.max_problems)
    try:
        st = os.lstat(root)
    except OSError as exc:
        return VerifyReport(False, [f"not a package folder or zip: {display_name(root)} ({exc.strerror or exc})"])
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(root)
        except OSError:
            target = "?"
        return VerifyReport(False, [f"symbolic link: {display_name(root)} is a link (to {display_name(target)}); "
                                    "nothing was checked: verify the folder or zip it points to by its own path"])
    try:
        if stat.S_ISDIR(st.st_mode):
            src = _Folder(root, problems, limits)
        elif stat.S_ISREG(st.st_mode):
            # Opened without following a link and without waiting (a FIFO swapped in since lstat).
            fd = os.open(root, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_BINARY", 0))
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                return VerifyReport(False, [f"not a package folder or zip: {display_name(root)} is "
                                            f"{_kind(st.st_mode)}"])
            f = os.fdopen(fd, "rb", buffering=1 << 16)
            try:
                src = _Zip(f, st.st_size, problems, limits)
            except BaseException:
                f.close()
                raise
        else:
            return VerifyReport(False, [f"not a package folder or zip: {display_name(root)} is {_kind(st.st_mode)}"])
    except ZipProblem as exc:
        if str(exc).startswith("not a zip"):
            return VerifyReport(False, [f"not a package folder or zip: {display_name(root)}"])
        return VerifyReport(False, [*problems.final(), str(exc)])
    except _Stop as exc:
        return VerifyReport(False, [*problems.final(), str(exc)])
    except OSError as exc:
        return VerifyReport(False, [f"unreadable package: {display_name(root)} ({exc.strerror or exc})"])
    try:
        return _Check(src, problems, limits, progress, cancel).run(known_key_fingerprints, is_recorded)
    except _Stop as exc:
        problems.add(str(exc))
        return VerifyReport(False, problems.final())
    except (OSError, ZipProblem, EntryProblem) as exc:
        problems.add(f"unreadable package: {display_name(root)} ({exc})")
        return VerifyReport(False, problems.final())
    finally:
        src.close()


class _Check:
    def __init__(self, src, problems: _Problems, limits: Limits, progress: Callable[[int, int], None] | None = None,
                 cancel: Callable[[], bool] | None = None):
        self.src, self.problems, self.limits = src, problems, limits
        self.progress, self.cancel = progress, cancel
        self.done = self.total = 0  # bytes hashed, of every file's size
        self._salt = _secrets.token_bytes(16)
        self.unread: set[str] = set()  # tag files refused (too large, unreadable): never hashed either

    def _tick(self, n: int = 0) -> None:
        """``n`` more bytes hashed: tell the caller, and stop if it cancelled."""
        if self.cancel is not None and self.cancel():
            raise VerifyCancelled
        self.done += n
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self._tick(len(chunk))
            yield chunk

    def key(self, rel: str) -> int:
        """A 64-bit keyed digest of a path: sets of them cost a fraction of the paths' memory, and a
        package cannot aim for collisions under a key it does not know."""
        return int.from_bytes(hashlib.blake2b(rel.encode("utf-8", "surrogateescape"), digest_size=8,
                                              key=self._salt).digest(), "big")

    def run(self, known_key_fingerprints: set[str] | None,
            is_recorded: Callable[[str, str], bool] | None) -> VerifyReport:
        src, problems, limits = self.src, self.problems, self.limits
        # 1. What is there, and how big (no file is read yet).
        present: set[int] = set()
        octets = files = 0
        for n, (rel, size) in enumerate(src.walk(report=True)):
            present.add(self.key(rel))
            self.total += size
            if rel.startswith("data/"):
                files += 1
                octets += size
            if n % 1000 == 0:
                self._tick()
        self.present = present
        for name in REQUIRED:
            if not self.has(name):
                problems.add(f"missing file: {name}")
        # 2. The small tag files, each bounded.
        small = {name: self._read_small(name) if self.has(name) else None for name in _SMALL_TAG_FILES}
        info = self._bag_info(small["bag-info.txt"])
        bagit = small["bagit.txt"]
        if bagit is not None and not bagit.startswith(b"BagIt-Version: "):
            problems.add("bad bagit.txt: it does not start with a BagIt-Version line")
        # 3. Payload-Oxum against what is there, before hashing anything.
        oxum = info.get("Payload-Oxum")
        if oxum is None:
            problems.add("bad Payload-Oxum: bag-info.txt has none")
        elif oxum != f"{octets}.{files}":
            problems.add(f"bad Payload-Oxum: bag-info.txt says {display_name(oxum, limit=100)}, the payload is "
                         f"{octets}.{files} (octets.files)")
        tagmanifest = self._tagmanifest(small[TAGMANIFEST])
        # 4. The manifest, first pass: syntax, size, count, duplicates, fingerprint.
        listed: set[int] = set()
        fingerprint = None
        manifest_read = False
        if self.has(MANIFEST):
            fingerprint, manifest_read = self._manifest_first_pass(listed, files)
        # 5. Extra files (nothing hashed yet).
        tag_listed = {self.key(rel) for rel in tagmanifest} | {self.key(TAGMANIFEST), self.key(SIGNATURE_FILE)}
        for rel, _size in src.walk(report=False):
            k = self.key(rel)
            if (k not in listed and manifest_read) if rel.startswith("data/") else (k not in tag_listed):
                problems.add(f"extra file: {display_name(rel, limit=300)}")
        # 6. Hash: the tag files, then the payload.
        checked = 0
        for rel, expected in tagmanifest.items():
            checked += self._hash_one(rel, expected, limits.max_manifest_bytes)
        if manifest_read:
            try:
                checked += self._manifest_second_pass(listed)
            except (EntryProblem, _LineTooLong):  # the manifest changed since the first pass
                problems.add(f"changed file: {MANIFEST} changed while the package was checked")
        elif self.has(MANIFEST):
            problems.add("not checked: the payload files were not hashed, because manifest-sha256.txt could not "
                         "be read")
        # 7. Fingerprint, signature, key, record.
        declared_fp = info.get("Package-Fingerprint")
        if fingerprint and declared_fp != fingerprint:
            problems.add(f"fingerprint mismatch: bag-info.txt gives Package-Fingerprint "
                         f"{display_name(declared_fp, limit=100)}, the manifest gives {fingerprint}")
        key_fp = None
        tag_bytes, sig, pem = small[TAGMANIFEST], small[SIGNATURE_FILE], small[PUBLIC_KEY_FILE]
        if tag_bytes is not None:
            if sig is not None and pem is not None:
                key_fp, problem = verify_signature(pem, tag_bytes, sig)
                if problem:
                    problems.add(problem)
            for name in ("bagit.txt", "bag-info.txt", MANIFEST, PUBLIC_KEY_FILE):
                if name not in tagmanifest and self.has(name):
                    problems.add(f"unsigned file: {name} is not listed in tagmanifest-sha256.txt")
        if key_fp is not None:
            declared = info.get("Export-Key-Fingerprint")
            if declared != key_fp:
                problems.add(f"key mismatch: bag-info.txt gives Export-Key-Fingerprint "
                             f"{display_name(declared, limit=100)}, export-public-key.pem has {key_fp}")
            if known_key_fingerprints is not None and key_fp not in known_key_fingerprints:
                problems.add(f"unknown key: {key_fp} is not the key of any export recorded in this archive")
            elif (known_key_fingerprints is not None and is_recorded is not None and fingerprint
                  and not is_recorded(fingerprint, key_fp)):
                problems.add(f"not recorded: the package is signed with this archive's export key {key_fp}, but this "
                             f"archive recorded no export with fingerprint {fingerprint} (an interrupted export, "
                             "or a package made outside the app with a copy of the key)")
        self.done = self.total  # the small tag files were read whole above, not through the hash count
        self._tick()
        final = problems.final()
        return VerifyReport(not final, final, fingerprint, key_fp, checked)

    def has(self, rel: str) -> bool:
        return self.key(rel) in self.present

    def _read_small(self, name: str) -> bytes | None:
        try:
            return b"".join(self.src.chunks(name, self.limits.max_tag_bytes))
        except EntryProblem as exc:
            self.problems.add(str(exc))
            self.unread.add(name)
            return None

    def _bag_info(self, data: bytes | None) -> dict[str, str]:
        info: dict[str, str] = {}
        if data is None:
            return info
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.problems.add("unreadable file: bag-info.txt (not UTF-8)")
            return info
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if not sep or line[:1].isspace():
                continue  # a continuation line, or not a label
            key = key.strip()
            if key in info and key in ("Payload-Oxum", "Package-Fingerprint", "Export-Key-Fingerprint"):
                self.problems.add(f"bad bag-info.txt: {key} appears more than once")
                continue
            info.setdefault(key, value.strip())
        return info

    def _tagmanifest(self, data: bytes | None) -> dict[str, str]:
        entries: dict[str, str] = {}
        if data is None:
            return entries
        for n, raw in _lines(iter((data,)), len(data)):
            parsed = _parse_line(raw)
            if parsed is None:
                continue
            if isinstance(parsed, str):
                self.problems.add(f"bad line in {TAGMANIFEST}: line {n} ({parsed})")
                continue
            digest, rel = parsed
            if rel.startswith("data/") or rel in (TAGMANIFEST, SIGNATURE_FILE):
                self.problems.add(f"bad line in {TAGMANIFEST}: {display_name(rel, limit=300)} does not belong there")
            elif rel in entries:
                self.problems.add(f"duplicate entry: {TAGMANIFEST} lists {display_name(rel, limit=300)} more than once")
            else:
                entries[rel] = digest
        return entries

    def _manifest_first_pass(self, listed: set[int], files: int) -> tuple[str | None, bool]:
        limits, problems = self.limits, self.problems
        h = hashlib.sha256()
        lines = 0
        try:
            for n, raw in _lines(self.src.chunks(MANIFEST, limits.max_manifest_bytes), limits.max_line):
                if b"  data/transcripts/" not in raw:
                    h.update(raw)
                parsed = _parse_line(raw)
                if parsed is None:
                    continue
                lines += 1  # every line, good or bad, counts against what the package can hold
                if lines > files + limits.max_problems:
                    problems.add(f"too many entries: {MANIFEST} lists more files than the package holds ({files}); "
                                 "it was not read further")
                    self.unread.add(MANIFEST)
                    return None, False
                if isinstance(parsed, str):
                    problems.add(f"bad line in {MANIFEST}: line {n} ({parsed})")
                    continue
                _digest, rel = parsed
                if not rel.startswith("data/"):
                    problems.add(f"bad line in {MANIFEST}: {display_name(rel, limit=300)} does not belong there")
                    continue
                k = self.key(rel)
                if k in listed:
                    problems.add(f"duplicate entry: {MANIFEST} lists {display_name(rel, limit=300)} more than once")
                    continue
                listed.add(k)
        except EntryProblem as exc:
            problems.add(str(exc))
            self.unread.add(MANIFEST)
            return None, False
        except _LineTooLong as exc:
            problems.add(f"line too long: {MANIFEST} line {exc.lineno} is longer than {limits.max_line} bytes; "
                         "it was not read further")
            self.unread.add(MANIFEST)
            return None, False
        return h.hexdigest(), True

    def _manifest_second_pass(self, listed: set[int]) -> int:
        checked = 0
        for _n, raw in _lines(self.src.chunks(MANIFEST, self.limits.max_manifest_bytes), self.limits.max_line):
            parsed = _parse_line(raw)
            if not isinstance(parsed, tuple):
                continue
            digest, rel = parsed
            k = self.key(rel)
            if k not in listed:  # a duplicate, or a line reported in the first pass
                continue
            listed.discard(k)
            checked += self._hash_one(rel, digest, None)
        return checked

    def _hash_one(self, rel: str, expected: str, limit: int | None) -> int:
        shown = display_name(rel, limit=300)
        if rel in self.unread:
            return 0
        if not self.has(rel):
            self.problems.add(f"missing file: {shown}")
            return 0
        try:
            found = _sha256(self._counted(self.src.chunks(rel, limit)))
        except EntryProblem as exc:
            self.problems.add(str(exc))
            return 0
        if found != expected:
            self.problems.add(f"changed file: {shown} (sha256 {found}, expected {expected})")
        return 1


def verify_recorded(db, actor, path: str | os.PathLike[str], *, any_key: bool = False,
                    progress: Callable[[int, int], None] | None = None,
                    cancel: Callable[[], bool] | None = None) -> VerifyReport:
    """:func:`verify_package` on behalf of ``actor`` (who needs ``export.verify``), against this
    archive's export keys and recorded exports unless ``any_key``; the check and its outcome (or its
    cancellation) go into the audit trail."""
    from app.core.auth import EXPORT_VERIFY, Action, AuditTrail
    from app.core.auth.audit import FAILED, OK

    from .package import export_records

    trail = AuditTrail(db)
    trail.require(actor, EXPORT_VERIFY, action=Action.VERIFY, object_type="package", object=str(path))

    def is_recorded(fingerprint: str, key_fingerprint: str) -> bool:
        return bool(export_records(db, fingerprint=fingerprint, key_fingerprint=key_fingerprint, limit=1))

    try:
        report = verify_package(path, known_key_fingerprints=None if any_key else known_keys(db),
                                is_recorded=None if any_key else is_recorded, progress=progress, cancel=cancel)
    except VerifyCancelled:
        trail.record(actor, Action.VERIFY, object_type="package", object=str(path), outcome=FAILED,
                     detail={"path": str(path), "any_key": any_key, "cancelled": True})
        raise
    trail.record(actor, Action.VERIFY, object_type="package", object=report.fingerprint or str(path),
                 outcome=OK if report.ok else FAILED,
                 detail={"path": str(path), "any_key": any_key, "problems": len(report.problems),
                         "first_problems": report.problems[:5]})
    return report


def known_keys(db) -> set[str]:
    """The fingerprints of every key that signed an export recorded in the archive ``db``."""
    from sqlalchemy import select

    from app.core.store.models import Export

    with db.read() as conn:
        return set(conn.execute(select(Export.key_fingerprint).distinct()).scalars())
