"""The licence texts of what a bundle ships, gathered from where they are installed.

- every Python distribution the app needs at run time (its dependencies, followed through their
  own requirements for this platform): the licence files its metadata lists, else the files named
  LICENSE*/COPYING*/NOTICE* in its .dist-info, else the text of the licence its metadata names
  when the system keeps a copy (Debian's /usr/share/common-licenses);
- Python itself;
- on Debian/Ubuntu, each shared library PyInstaller copied from the system (libcrypto for the SDK
  simulator, xcb libraries, ...): its package's /usr/share/doc/<package>/copyright;
- the fonts' OFL texts travel with the fonts (resources/fonts).

Writes ``licenses/`` into the bundle with one file per component and ``licenses/README.txt``
listing them with their licence names; returns the names of components it found no text for (the
build prints them: a reviewer decides, the build does not fail).
"""

from __future__ import annotations

import importlib.metadata as md
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from packaging.requirements import Requirement

COMMON_LICENSES = Path("/usr/share/common-licenses")
_NAME_TO_COMMON = {  # licence names in metadata -> Debian's file of its text
    "LGPL-3.0": "LGPL-3", "LGPLv3": "LGPL-3", "GPL-3.0": "GPL-3", "GPL-2.0": "GPL-2", "GPLv2": "GPL-2",
    "Apache-2.0": "Apache-2.0", "Apache 2.0": "Apache-2.0", "Apache Software License": "Apache-2.0",
    "MPL-2.0": "MPL-2.0", "Mozilla Public License 2.0": "MPL-2.0",
}
_LICENCE_FILE = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name)


def runtime_distributions(root: str = "wecom-archive-auditor") -> list[md.Distribution]:
    """``root`` and everything it requires at run time on this platform (extras not included)."""
    seen: dict[str, md.Distribution] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen[key] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return sorted(seen.values(), key=lambda d: d.metadata["Name"].lower())


def _licence_name(dist: md.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    licence = (meta.get("License") or "").strip()
    if licence and len(licence) < 100 and "\n" not in licence:
        return licence
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return "; ".join(classifiers) or ("see the text" if licence else "unknown")


def _licence_texts(dist: md.Distribution) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    listed = dist.metadata.get_all("License-File") or []
    for f in dist.files or []:
        parts = f.parts
        in_meta = parts[0].endswith(".dist-info")
        if (in_meta and (str(Path(*parts[1:])) in listed or "licenses" in parts[1:2]
                         or _LICENCE_FILE.match(parts[-1]))):
            try:
                texts.append((parts[-1], f.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError):
                continue
    if not texts:
        name = _licence_name(dist)
        for key, common in _NAME_TO_COMMON.items():
            if key.lower() in name.lower() and (COMMON_LICENSES / common).is_file():
                texts.append((common, (COMMON_LICENSES / common).read_text("utf-8", "replace")))
                if common == "LGPL-3" and (COMMON_LICENSES / "GPL-3").is_file():  # the LGPL builds on it
                    texts.append(("GPL-3", (COMMON_LICENSES / "GPL-3").read_text("utf-8", "replace")))
                break
    return texts


def _python_licence() -> str | None:
    for candidate in (Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt",
                      Path(sys.base_prefix) / "LICENSE.txt", Path("/usr/share/doc/python3.11/copyright"),
                      Path(f"/usr/share/doc/python{sys.version_info[0]}.{sys.version_info[1]}/copyright")):
        if candidate.is_file():
            return candidate.read_text("utf-8", "replace")
    return None


def _debian_packages(libraries: list[Path]) -> dict[str, list[str]]:
    """Debian package -> the bundled library names that came from it (dpkg -S on the originals)."""
    if shutil.which("dpkg") is None:
        return {}
    out: dict[str, list[str]] = {}
    for lib in libraries:
        for directory in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                          "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/lib"):
            original = Path(directory) / lib.name
            if original.exists():
                found = subprocess.run(["dpkg", "-S", str(original)], capture_output=True, text=True)
                if found.returncode == 0:
                    package = found.stdout.split(":", 1)[0]
                    out.setdefault(package, []).append(lib.name)
                    break
    return out


def collect(bundle: Path, internal: Path) -> list[str]:
    """Write ``bundle/licenses``; ``internal`` is the folder holding the bundled libraries."""
    target = bundle / "licenses"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    index: list[str] = ["Licences of what this bundle ships", "", "component | licence | file", "---|---|---"]
    missing: list[str] = []
    for dist in runtime_distributions():
        name, version = dist.metadata["Name"], dist.version
        if name == "wecom-archive-auditor":
            continue
        texts = _licence_texts(dist)
        files = []
        for filename, text in texts:
            out = target / f"{_safe(name)}-{_safe(filename)}"
            n = 2
            while out.exists():  # two files of one name (LICENSE at two levels)
                out = target / f"{_safe(name)}-{_safe(filename)}-{n}"
                n += 1
            out.write_text(text, "utf-8")
            files.append(out.name)
        if not texts:
            missing.append(f"{name} {version}")
        index.append(f"{name} {version} (Python) | {_licence_name(dist)} | {', '.join(files) or 'NOT FOUND'}")
    python = _python_licence()
    if python:
        (target / "Python-LICENSE.txt").write_text(python, "utf-8")
    else:
        missing.append("Python")
    index.append(f"Python {sys.version.split()[0]} | PSF-2.0 | {'Python-LICENSE.txt' if python else 'NOT FOUND'}")
    libraries = sorted(p for p in internal.rglob("*.so*") if p.is_file())
    for package, libs in sorted(_debian_packages(libraries).items()):
        copyright_file = Path("/usr/share/doc") / package.split(":")[0] / "copyright"
        if copyright_file.is_file():
            out = target / f"debian-{_safe(package.split(':')[0])}-copyright.txt"
            shutil.copyfile(copyright_file, out)
            index.append(f"{package} (system library: {', '.join(sorted(set(libs)))}) | see the file | {out.name}")
        else:
            missing.append(package)
    index += ["", "The PDF fonts' licence (SIL Open Font License 1.1) is beside them: _internal/resources/fonts/.",
              "Qt (PySide6) is used under the LGPL 3.0; its libraries are separate files in _internal/PySide6 and",
              "may be replaced by the user."]
    (target / "README.txt").write_text("\n".join(index) + "\n", "utf-8")
    return missing
