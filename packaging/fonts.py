"""Fetch the fonts the PDF transcripts ship with into resources/fonts/ (run by hand: `make fonts`).

The fonts are committed, so nobody needs this to build, install or test the app; it says where each
file came from and makes them again byte for byte. Each comes unmodified from a pinned npm package
(the registry keeps every published version; the tarball's SHA-256 and the font's SHA-256 are
checked), all three under the SIL Open Font License 1.1:

- Noto Sans SC Regular (Google Fonts build, 30,890 characters): every CJK Unified Ideograph of the
  basic block (20,976) and Extension A (6,582), the ideographs of the Table of General Standard
  Chinese Characters (通用规范汉字表) that lie beyond them (Extensions B–F), kana, Latin, Greek,
  Cyrillic and CJK punctuation. No characters are cut out: the PDF writer subsets it per export.
- Noto Emoji Regular (monochrome outlines; emoji must be text in a PDF, not colour bitmaps).
- Noto Sans Math Regular: ⟨ ⟩ (the visible escapes of app.core.safe_text), arrows, math symbols.

Needs npm (Debian: apt-get install npm). Usage: python packaging/fonts.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

FONTS_DIR = Path(__file__).resolve().parents[1] / "resources" / "fonts"

# (npm package, version, tarball SHA-256, file in the tarball, file here, font SHA-256)
SOURCES = (
    ("@expo-google-fonts/noto-sans-sc", "0.4.3",
     "0d69d0f4971d2ff574e3d93cbc218dc950bf3f3f8f8e2c008d97687ed53aee59",
     "package/400Regular/NotoSansSC_400Regular.ttf", "NotoSansSC-Regular.ttf",
     "d45f67f0a7c0ca3f256950777ce6a61cc7ce5f9696d02900cbbaac25f8aa7d16"),
    ("@expo-google-fonts/noto-emoji", "0.4.7",
     "6a25fd5a4da5bb34bbc2d300531bbf32de86afd866e119314d7e358f61a6104d",
     "package/400Regular/NotoEmoji_400Regular.ttf", "NotoEmoji-Regular.ttf",
     "24aaa2a20c9c06ffe9bf04284bfd1f14376a329d10122f902abe2770817eb504"),
    ("@expo-google-fonts/noto-sans-math", "0.4.2",
     "652041ca903e7adcc1502a0621350526463e91416757310391370ff5f8fb3ce8",
     "package/400Regular/NotoSansMath_400Regular.ttf", "NotoSansMath-Regular.ttf",
     "b4a1dfdbfa13b4755e5eac20cb25c1d17ed5a745ceb89639595e8cf45a2b1e07"),
)
LICENCE_MEMBER = "package/LICENSE_FONT"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npm_pack(package: str, version: str, folder: Path) -> bytes:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the fonts (Debian: apt-get install npm)")
    out = subprocess.run([npm, "pack", "--silent", f"{package}@{version}"], cwd=folder, check=True,
                         capture_output=True, text=True).stdout.split()[-1]
    return (folder / out).read_bytes()


def fetch(check_only: bool = False) -> int:
    problems = 0
    with tempfile.TemporaryDirectory() as tmp:
        for package, version, tar_sha, member, name, font_sha in SOURCES:
            tarball = _npm_pack(package, version, Path(tmp))
            if _sha256(tarball) != tar_sha:
                raise SystemExit(f"{package}@{version}: the tarball's SHA-256 is not the pinned one")
            with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
                font = tar.extractfile(member).read()
                licence = tar.extractfile(LICENCE_MEMBER).read()
            if _sha256(font) != font_sha:
                raise SystemExit(f"{package}@{version}: {member} is not the pinned font")
            target = FONTS_DIR / name
            licence_target = FONTS_DIR / (Path(name).stem + ".OFL.txt")
            if check_only:
                same = target.is_file() and target.read_bytes() == font and \
                    licence_target.is_file() and licence_target.read_bytes() == licence
                print(f"{name}: {'as pinned' if same else 'DIFFERS from ' + package + '@' + version}")
                problems += not same
                continue
            FONTS_DIR.mkdir(parents=True, exist_ok=True)
            target.write_bytes(font)
            licence_target.write_bytes(licence)
            print(f"{target} ({len(font):,} bytes) from {package}@{version}")
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare the committed fonts with the pinned packages")
    sys.exit(fetch(parser.parse_args().check))
