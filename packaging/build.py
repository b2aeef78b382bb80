"""Build the desktop bundle: ``python packaging/build.py`` (``make package``).

1. stamps the build (version, git commit, date) into build/build-info.json;
2. runs PyInstaller on packaging/wecom-auditor.spec → dist/wecom-auditor/ (one folder);
3. adds the licence texts of what it ships (packaging/licences.py), the Linux desktop entry,
   AppStream metadata and icons (share/), and README.txt;
4. packs dist/wecom-auditor-<version>-<platform>.tar.gz (Windows: .zip) and prints its size.

Needs the `package` extra (PyInstaller) in the environment that runs it, and — on Linux and
macOS — a C compiler and the OpenSSL headers for the SDK simulator (native/build.py).
"""

from __future__ import annotations

import datetime
import importlib.metadata as md
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DIST, WORK = ROOT / "dist", ROOT / "build" / "pyinstaller"
NAME = "wecom-auditor"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(PACKAGING))


def git_commit() -> str:
    from app.version import git_commit as commit

    return commit(ROOT) or "unknown"


def stamp() -> dict:
    info = {"version": md.version("wecom-archive-auditor"), "commit": git_commit(),
            "built": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")}
    WORK.mkdir(parents=True, exist_ok=True)
    (ROOT / "build" / "build-info.json").write_text(json.dumps(info), "utf-8")
    return info


def platform_tag() -> str:
    machine = platform.machine().lower().replace("amd64", "x86_64")
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform.rstrip("0123456789"))
    return f"{system}-{machine}"


def add_desktop_files(bundle: Path) -> None:
    """share/ as a Linux desktop expects it (copy into ~/.local/share or /usr/share)."""
    share = bundle / "share"
    apps, meta = share / "applications", share / "metainfo"
    apps.mkdir(parents=True, exist_ok=True)
    meta.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PACKAGING / "linux" / "wecom-auditor.desktop", apps)
    for xml in (PACKAGING / "linux").glob("*.metainfo.xml"):
        shutil.copy2(xml, meta)
    for png in (PACKAGING / "icons").glob("wecom-auditor-*.png"):
        size = png.stem.rsplit("-", 1)[1]
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, target / "wecom-auditor.png")


README = """WeCom Archive Auditor {version} (commit {commit}, built {built}) — {platform}

Run:        ./wecom-auditor            (the window; `./wecom-auditor --help` for the commands)
Demo:       ./wecom-auditor demo && ./wecom-auditor sync && ./wecom-auditor
Version:    ./wecom-auditor --version

This folder is read-only to the app: it can live anywhere (/opt/wecom-auditor, a USB stick). Settings,
the archive, media and logs go to the user's folders (Linux: ~/.local/share/wecom-auditor and
~/.config/wecom-auditor; --data-dir DIR or WECOM_AUDITOR_DATA_DIR puts everything under DIR).

Linux desktop menu entry: copy share/ into ~/.local/share (or /usr/share) and put this folder's
wecom-auditor on the PATH (e.g. ln -s "$PWD/wecom-auditor" ~/.local/bin/).
The window needs the X11/Wayland libraries listed in the app's README ("Installing").

Tencent's Finance SDK library is not included: the administrator downloads it from the WeCom admin
console and points the settings (or `wecom-auditor corps add --library FILE`) at it.
Licences of everything included: licenses/README.txt.
"""


def pack(bundle: Path, info: dict) -> Path:
    base = f"{NAME}-{info['version']}-{platform_tag()}"
    if sys.platform == "win32":
        archive = DIST / f"{base}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(bundle.rglob("*")):
                z.write(path, Path(NAME) / path.relative_to(bundle))
        return archive
    archive = DIST / f"{base}.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=NAME)
    return archive


def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> int:
    info = stamp()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                    "--distpath", str(DIST), "--workpath", str(WORK), str(PACKAGING / "wecom-auditor.spec")],
                   check=True, cwd=ROOT, env=env)
    bundle = DIST / NAME
    if sys.platform == "darwin":
        print(f"macOS: the app bundle is {DIST / 'WeCom Archive Auditor.app'}")
    internal = bundle / "_internal"
    from licences import collect

    missing = collect(bundle, internal)
    if missing:
        print("licence texts not found (check by hand): " + ", ".join(missing))
    if sys.platform.startswith("linux"):
        add_desktop_files(bundle)
    (bundle / "README.txt").write_text(README.format(platform=platform_tag(), **info), "utf-8")
    archive = pack(bundle, info)
    print(f"bundle: {bundle} ({tree_size(bundle) / 2**20:.0f} MiB)")
    print(f"archive: {archive} ({archive.stat().st_size / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
