"""Build the UI translations: lupdate → fill zh_CN from resources/i18n/zh_CN/*.json → lrelease.

    python tools/build_translations.py          # writes resources/i18n/wecom_auditor_{zh_CN,en}.{ts,qm}
    python tools/build_translations.py --check  # exit 1 if a zh_CN string has no translation

Source strings are English (so English needs no translation; its .ts/.qm exist for completeness).
The Chinese text lives in small JSON files per UI area: {"<context>": {"<source>": "<翻译>"}}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
I18N = ROOT / "resources" / "i18n"
LANGS = ("zh_CN", "en")


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / f"pyside6-{name}"
    found = str(exe) if exe.exists() else shutil.which(f"pyside6-{name}")
    if not found:
        raise SystemExit(f"pyside6-{name} not found: install PySide6 (pip install -e '.[test]')")
    return found


def _zh_catalogue() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted((I18N / "zh_CN").glob("*.json")):
        for context, entries in json.loads(path.read_text(encoding="utf-8")).items():
            merged.setdefault(context, {}).update(entries)
    return merged


def build(check_only: bool = False) -> list[str]:
    """Returns the untranslated zh_CN strings. With ``check_only`` nothing in the repo is written."""
    if check_only:
        with tempfile.TemporaryDirectory() as tmp:
            return _build(Path(tmp), release=False)
    return _build(I18N, release=True)


def _build(out: Path, release: bool) -> list[str]:
    sources = sorted(str(p) for p in (ROOT / "app" / "ui").rglob("*.py"))
    missing: list[str] = []
    catalogue = _zh_catalogue()
    for lang in LANGS:
        ts = out / f"wecom_auditor_{lang}.ts"
        subprocess.run([_tool("lupdate"), *sources, "-no-obsolete", "-source-language", "en",
                        "-target-language", lang, "-ts", str(ts)], check=True, capture_output=True)
        tree = ET.parse(ts)
        for context in tree.getroot().iter("context"):
            name = context.findtext("name")
            for message in context.iter("message"):
                source = message.findtext("source")
                translation = message.find("translation")
                if lang == "en":
                    text = source
                else:
                    text = catalogue.get(name, {}).get(source)
                    if text is None:
                        missing.append(f"{name}: {source!r}")
                        continue
                translation.text = text
                translation.attrib.pop("type", None)
        tree.write(ts, encoding="utf-8", xml_declaration=True)
        if release:
            subprocess.run([_tool("lrelease"), str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True,
                           capture_output=True)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    missing = build(check_only=args.check)
    for line in missing:
        print("untranslated:", line)
    print(f"{len(missing)} untranslated zh_CN strings")
    sys.exit(1 if missing and args.check else 0)


if __name__ == "__main__":
    main()
