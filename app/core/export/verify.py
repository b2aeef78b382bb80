"""Checking an evidence package: every file, the Payload-Oxum, the signature, and (given the
archive) whether the signing key is one of this archive's export keys."""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .package import PUBLIC_KEY_FILE, SIGNATURE_FILE
from .signing import verify_signature

REQUIRED = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", SIGNATURE_FILE,
            PUBLIC_KEY_FILE)


@dataclass
class VerifyReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    fingerprint: str | None = None  # the package fingerprint, recomputed from the manifest
    key_fingerprint: str | None = None
    files_checked: int = 0


class _Folder:
    """The files of a bag folder."""

    def __init__(self, root: Path):
        self.root = root

    def files(self) -> list[str]:
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for f in sorted(filenames):
                out.append(Path(dirpath, f).relative_to(self.root).as_posix())
        return out

    def is_file(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def open(self, rel: str):
        return open(self.root / rel, "rb")

    def size(self, rel: str) -> int:
        return (self.root / rel).stat().st_size

    def close(self) -> None:
        pass


class _Zip:
    """The files of a bag inside a zip: every entry under one top folder (``<name>/...``)."""

    def __init__(self, path: Path, problems: list[str]):
        self.zf = zipfile.ZipFile(path)
        names = [i.filename for i in self.zf.infolist() if not i.is_dir()]
        tops = {n.split("/", 1)[0] for n in names if "/" in n}
        self.prefix = (tops.pop() + "/") if len(tops) == 1 else ""
        if not self.prefix:
            problems.append("bad zip: the bag's files must all be inside one folder of the zip")
        self.entries = {}
        for info in self.zf.infolist():
            if info.is_dir():
                continue
            rel = info.filename[len(self.prefix):] if info.filename.startswith(self.prefix) else None
            if rel is None or not rel or ".." in PurePosixPath(rel).parts or rel.startswith("/"):
                problems.append(f"extra file: {info.filename} (outside the bag's folder in the zip)")
                continue
            self.entries[rel] = info

    def files(self) -> list[str]:
        return sorted(self.entries)

    def is_file(self, rel: str) -> bool:
        return rel in self.entries

    def open(self, rel: str):
        return self.zf.open(self.entries[rel])

    def size(self, rel: str) -> int:
        return self.entries[rel].file_size

    def close(self) -> None:
        self.zf.close()


def _sha256(src, rel: str) -> str:
    h = hashlib.sha256()
    with src.open(rel) as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def _read_bytes(src, rel: str) -> bytes:
    with src.open(rel) as f:
        return f.read()


def _read_manifest(src, name: str, problems: list[str]) -> tuple[dict[str, str], list[str]]:
    """The manifest's entries, and its lines in order (for the package fingerprint)."""
    entries: dict[str, str] = {}
    try:
        text = _read_bytes(src, name).decode("utf-8")
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        problems.append(f"unreadable file: {name} ({exc})")
        return entries, []
    lines = text.splitlines(keepends=True)
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        digest, sep, rel = line.partition(" ")
        rel = rel.lstrip(" *")
        p = PurePosixPath(rel)
        if (not sep or len(digest) != 64 or not rel or p.is_absolute() or ".." in p.parts
                or any(c not in "0123456789abcdef" for c in digest.lower())):
            problems.append(f"bad line in {name}: line {n}")
            continue
        entries[rel] = digest.lower()
    return entries, lines


def _bag_info(src, problems: list[str]) -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        text = _read_bytes(src, "bag-info.txt").decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"unreadable file: bag-info.txt ({exc})")
        return info
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def package_fingerprint(manifest_lines: list[str]) -> str:
    """SHA-256 of the manifest lines of every payload file outside data/transcripts/ (in order)."""
    h = hashlib.sha256()
    for line in manifest_lines:
        if "  data/transcripts/" not in line:
            h.update(line.encode("utf-8"))
    return h.hexdigest()


def verify_package(path: str | os.PathLike[str], *, known_key_fingerprints: set[str] | None = None) -> VerifyReport:
    """Check the package at ``path`` (a bag folder or a .zip holding one). ``known_key_fingerprints``:
    the export keys of this archive (see :func:`known_keys`); when given, a package signed with
    another key is reported."""
    root = Path(path)
    problems: list[str] = []
    if root.is_dir():
        src = _Folder(root)
    elif root.is_file() and zipfile.is_zipfile(root):
        try:
            src = _Zip(root, problems)
        except (zipfile.BadZipFile, OSError) as exc:
            return VerifyReport(False, [f"unreadable zip: {root} ({exc})"])
    else:
        return VerifyReport(False, [f"not a package folder or zip: {root}"])
    try:
        return _verify(src, problems, known_key_fingerprints)
    except zipfile.BadZipFile as exc:
        return VerifyReport(False, problems + [f"damaged zip: {exc}"])
    finally:
        src.close()


def _verify(src, problems: list[str], known_key_fingerprints: set[str] | None) -> VerifyReport:
    for name in REQUIRED:
        if not src.is_file(name):
            problems.append(f"missing file: {name}")
    manifest, manifest_lines = _read_manifest(src, "manifest-sha256.txt", problems) \
        if src.is_file("manifest-sha256.txt") else ({}, [])
    tagmanifest, _ = _read_manifest(src, "tagmanifest-sha256.txt", problems) \
        if src.is_file("tagmanifest-sha256.txt") else ({}, [])
    checked = 0
    for source, entries in (("manifest-sha256.txt", manifest), ("tagmanifest-sha256.txt", tagmanifest)):
        for rel, expected in entries.items():
            if (source == "manifest-sha256.txt") != rel.startswith("data/"):
                problems.append(f"bad line in {source}: {rel} does not belong there")
                continue
            if not src.is_file(rel):
                problems.append(f"missing file: {rel}")
                continue
            found = _sha256(src, rel)
            checked += 1
            if found != expected:
                problems.append(f"changed file: {rel} (sha256 {found}, expected {expected})")
    listed = set(manifest) | set(tagmanifest) | {"tagmanifest-sha256.txt", SIGNATURE_FILE}
    octets = files = 0
    for rel in src.files():
        if rel.startswith("data/"):
            files += 1
            octets += src.size(rel)
        if rel not in listed:
            problems.append(f"extra file: {rel}")
    info = _bag_info(src, problems) if src.is_file("bag-info.txt") else {}
    oxum = info.get("Payload-Oxum")
    if oxum is None:
        problems.append("bad Payload-Oxum: bag-info.txt has none")
    elif oxum != f"{octets}.{files}":
        problems.append(f"bad Payload-Oxum: bag-info.txt says {oxum}, the payload is {octets}.{files} "
                        "(octets.files)")
    fingerprint = package_fingerprint(manifest_lines) if manifest_lines else None
    declared_fp = info.get("Package-Fingerprint")
    if fingerprint and declared_fp != fingerprint:
        problems.append(f"fingerprint mismatch: bag-info.txt gives Package-Fingerprint {declared_fp}, "
                        f"the manifest gives {fingerprint}")
    key_fp = None
    if src.is_file("tagmanifest-sha256.txt"):
        tag_bytes = _read_bytes(src, "tagmanifest-sha256.txt")
        if src.is_file(SIGNATURE_FILE) and src.is_file(PUBLIC_KEY_FILE):
            key_fp, problem = verify_signature(_read_bytes(src, PUBLIC_KEY_FILE), tag_bytes,
                                               _read_bytes(src, SIGNATURE_FILE))
            if problem:
                problems.append(problem)
        for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", PUBLIC_KEY_FILE):
            if name not in tagmanifest and src.is_file(name):
                problems.append(f"unsigned file: {name} is not listed in tagmanifest-sha256.txt")
    if key_fp is not None:
        declared = info.get("Export-Key-Fingerprint")
        if declared != key_fp:
            problems.append(f"key mismatch: bag-info.txt gives Export-Key-Fingerprint {declared}, "
                            f"export-public-key.pem has {key_fp}")
        if known_key_fingerprints is not None and key_fp not in known_key_fingerprints:
            problems.append(f"unknown key: {key_fp} is not the key of any export recorded in this archive")
    return VerifyReport(not problems, problems, fingerprint, key_fp, checked)


def verify_recorded(db, actor, path: str | os.PathLike[str], *, any_key: bool = False) -> VerifyReport:
    """:func:`verify_package` on behalf of ``actor`` (who needs ``export.verify``), against this
    archive's export keys unless ``any_key``; the check and its outcome go into the audit trail."""
    from app.core.auth import EXPORT_VERIFY, Action, AuditTrail
    from app.core.auth.audit import FAILED, OK

    trail = AuditTrail(db)
    trail.require(actor, EXPORT_VERIFY, action=Action.VERIFY, object_type="package", object=str(path))
    report = verify_package(path, known_key_fingerprints=None if any_key else known_keys(db))
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
