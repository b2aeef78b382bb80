"""The icon set, the Linux desktop entry and the AppStream metadata are well formed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def test_icons_at_every_size():
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        with Image.open(PACKAGING / "icons" / f"wecom-auditor-{size}.png") as im:
            assert im.size == (size, size) and im.mode == "RGBA"
    with Image.open(PACKAGING / "icons" / "wecom-auditor.ico") as ico:
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(PACKAGING / "icons" / "wecom-auditor.icns") as icns:
        assert icns.size[0] >= 256


def test_desktop_entry():
    entry = (PACKAGING / "linux" / "wecom-auditor.desktop").read_text("utf-8")
    assert "Exec=wecom-auditor" in entry and "Icon=wecom-auditor" in entry and "Name[zh_CN]=会话存档审计台" in entry
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    proc = subprocess.run([tool, str(PACKAGING / "linux" / "wecom-auditor.desktop")], capture_output=True, text=True)
    assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout


def test_appstream_metadata():
    (xml,) = (PACKAGING / "linux").glob("*.metainfo.xml")
    text = xml.read_text("utf-8")
    assert "<launchable type=\"desktop-id\">wecom-auditor.desktop</launchable>" in text
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (Debian: appstream)")
    proc = subprocess.run([tool, "validate", "--no-net", str(xml)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
