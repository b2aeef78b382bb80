"""Checking an evidence package: every file, the Payload-Oxum, the signature, and (given the
archive) whether the signing key is one of this archive's export keys."""

from __future__ import annotations

import hashlib
import os
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
    fingerprint: str | None = None  # sha256 of tagmanifest-sha256.txt
    key_fingerprint: str | None = None
    files_checked: int = 0


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def _read_manifest(root: Path, name: str, problems: list[str]) -> dict[str, str]:
    entries: dict[str, str] = {}
    try:
        text = (root / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"unreadable file: {name} ({exc})")
        return entries
    for n, line in enumerate(text.splitlines(), 1):
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
    return entries


def _bag_info(root: Path, problems: list[str]) -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        text = (root / "bag-info.txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"unreadable file: bag-info.txt ({exc})")
        return info
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _files(root: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            out.append(Path(dirpath, f).relative_to(root).as_posix())
    return out


def verify_package(path: str | os.PathLike[str], *, known_key_fingerprints: set[str] | None = None) -> VerifyReport:
    """Check the package at ``path``. ``known_key_fingerprints``: the export keys of this archive
    (see :func:`known_keys`); when given, a package signed with another key is reported."""
    root = Path(path)
    problems: list[str] = []
    if not root.is_dir():
        return VerifyReport(False, [f"not a package folder: {root}"])
    for name in REQUIRED:
        if not (root / name).is_file():
            problems.append(f"missing file: {name}")
    manifest = _read_manifest(root, "manifest-sha256.txt", problems) if (root / "manifest-sha256.txt").is_file() \
        else {}
    tagmanifest = _read_manifest(root, "tagmanifest-sha256.txt", problems) \
        if (root / "tagmanifest-sha256.txt").is_file() else {}
    checked = 0
    for source, entries in (("manifest-sha256.txt", manifest), ("tagmanifest-sha256.txt", tagmanifest)):
        for rel, expected in entries.items():
            if (source == "manifest-sha256.txt") != rel.startswith("data/"):
                problems.append(f"bad line in {source}: {rel} does not belong there")
                continue
            p = root / rel
            if not p.is_file():
                problems.append(f"missing file: {rel}")
                continue
            found = _sha256(p)
            checked += 1
            if found != expected:
                problems.append(f"changed file: {rel} (sha256 {found}, expected {expected})")
    listed = set(manifest) | set(tagmanifest) | {"tagmanifest-sha256.txt", SIGNATURE_FILE}
    octets = files = 0
    for rel in _files(root):
        if rel.startswith("data/"):
            files += 1
            octets += (root / rel).stat().st_size
        if rel not in listed:
            problems.append(f"extra file: {rel}")
    info = _bag_info(root, problems) if (root / "bag-info.txt").is_file() else {}
    oxum = info.get("Payload-Oxum")
    if oxum is None:
        problems.append("bad Payload-Oxum: bag-info.txt has none")
    elif oxum != f"{octets}.{files}":
        problems.append(f"bad Payload-Oxum: bag-info.txt says {oxum}, the payload is {octets}.{files} "
                        "(octets.files)")
    fingerprint = key_fp = None
    if (root / "tagmanifest-sha256.txt").is_file():
        tag_bytes = (root / "tagmanifest-sha256.txt").read_bytes()
        fingerprint = hashlib.sha256(tag_bytes).hexdigest()
        if (root / SIGNATURE_FILE).is_file() and (root / PUBLIC_KEY_FILE).is_file():
            key_fp, problem = verify_signature((root / PUBLIC_KEY_FILE).read_bytes(), tag_bytes,
                                               (root / SIGNATURE_FILE).read_bytes())
            if problem:
                problems.append(problem)
        for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", PUBLIC_KEY_FILE):
            if name not in tagmanifest and (root / name).is_file():
                problems.append(f"unsigned file: {name} is not listed in tagmanifest-sha256.txt")
    if key_fp is not None:
        declared = info.get("Export-Key-Fingerprint")
        if declared != key_fp:
            problems.append(f"key mismatch: bag-info.txt gives Export-Key-Fingerprint {declared}, "
                            f"export-public-key.pem has {key_fp}")
        if known_key_fingerprints is not None and key_fp not in known_key_fingerprints:
            problems.append(f"unknown key: {key_fp} is not the key of any export recorded in this archive")
    return VerifyReport(not problems, problems, fingerprint, key_fp, checked)


def known_keys(db) -> set[str]:
    """The fingerprints of every key that signed an export recorded in the archive ``db``."""
    from sqlalchemy import select

    from app.core.store.models import Export

    with db.read() as conn:
        return set(conn.execute(select(Export.key_fingerprint).distinct()).scalars())
