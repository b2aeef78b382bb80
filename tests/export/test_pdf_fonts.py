"""PDF transcripts do not depend on the fonts installed on the computer: the shipped fonts show
Chinese text and emoji as text, a character no font has is shown as its code point (never dropped),
and an export on a computer whose /usr/share/fonts is empty (a mount namespace hides it) works."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pdf_text import pdf_pages

from app.core.export import pdf as pdf_module
from app.core.resources import resource_dir

SAMPLE = "合同 违约金 第三条：退款 😀 👍 ❤️ 🎉 ☺ → ⟨U+202E⟩ ＡＢＣ abc 𬌗 𠮷 한국"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_installed_fonts(monkeypatch):
    """find_fonts as on a computer with no fonts at all (and none configured)."""
    monkeypatch.setattr(pdf_module, "_system_cjk_fonts", lambda: [])
    monkeypatch.setattr(pdf_module, "_system_fallback_fonts", lambda: [])
    monkeypatch.delenv(pdf_module.FONT_ENV, raising=False)
    pdf_module.find_fonts.cache_clear()
    yield
    pdf_module.find_fonts.cache_clear()


def _write_pdf(fonts, text: str, folder: Path) -> str:
    from app.core.export.pdf import PdfTranscriptWriter, TranscriptHeader, subset_fonts

    fonts = subset_fonts(fonts, set(text), folder)
    written: list[Path] = []
    header = TranscriptHeader("s", "single", ("a",), "", "UTC", "{}", "0" * 64)
    writer = PdfTranscriptWriter(fonts, header, lambda n: (f"t{n}.pdf", folder / f"t{n}.pdf"),
                                 lambda rel, path: written.append(path))
    writer.message(seq=1, time="t", sender="a", recipients=("b",), msgtype="text", summary=text, text=text,
                   recalled_at=None, hit=False)
    writer.close()
    return "".join("".join("".join(pdf_pages(p)).split()) for p in written)


def test_the_shipped_fonts_are_used_without_any_installed(no_installed_fonts):
    fonts = pdf_module.find_fonts()
    folder = resource_dir() / "fonts"
    assert Path(fonts.cjk.path) == folder / "NotoSansSC-Regular.ttf"
    assert [Path(f.path).name for f in fonts.fallbacks] == ["NotoEmoji-Regular.ttf", "NotoSansMath-Regular.ttf"]
    for name in ("NotoSansSC-Regular", "NotoEmoji-Regular", "NotoSansMath-Regular"):
        assert "SIL Open Font License" in (folder / f"{name}.OFL.txt").read_text("utf-8")


def test_shipped_fonts_alone_show_chinese_and_emoji_as_text(no_installed_fonts, tmp_path):
    flat = _write_pdf(pdf_module.find_fonts(), SAMPLE, tmp_path)
    for piece in ("合同", "违约金", "第三条：退款", "😀", "👍", "❤", "🎉", "☺", "→", "⟨U+202E⟩", "ＡＢＣabc",
                  "𬌗"):  # 𬌗: a General Standard Character beyond the basic block (Extension E)
        assert piece in flat, piece
    # what no shipped font has is shown as its code point, visibly, not dropped or drawn as a box
    assert "⟨U+20BB7⟩" in flat and "𠮷" not in flat
    assert "⟨U+D55C⟩⟨U+AD6D⟩" in flat


def test_an_installed_font_fills_in_what_the_shipped_ones_lack(tmp_path, monkeypatch):
    installed = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    if not installed.is_file():
        pytest.skip("fonts-noto-cjk is not installed here")
    monkeypatch.delenv(pdf_module.FONT_ENV, raising=False)
    pdf_module.find_fonts.cache_clear()
    try:
        fonts = pdf_module.find_fonts()
    finally:
        pdf_module.find_fonts.cache_clear()
    assert Path(fonts.cjk.path).name == "NotoSansSC-Regular.ttf"  # the same text font on every computer
    flat = _write_pdf(fonts, SAMPLE, tmp_path)
    assert "𠮷" in flat and "한국" in flat and "合同" in flat and "😀" in flat


def test_a_configured_font_comes_first(monkeypatch, no_installed_fonts):
    math = resource_dir() / "fonts" / "NotoSansMath-Regular.ttf"
    monkeypatch.setenv(pdf_module.FONT_ENV, str(math))  # no Chinese in it: refused with its name
    with pytest.raises(pdf_module.PdfFontError, match="NotoSansMath"):
        pdf_module.find_fonts()
    pdf_module.find_fonts.cache_clear()
    sc = resource_dir() / "fonts" / "NotoSansSC-Regular.ttf"
    monkeypatch.setenv(pdf_module.FONT_ENV, str(sc) + "#0")
    fonts = pdf_module.find_fonts()
    assert fonts.cjk.path == str(sc) and str(sc) not in [f.path for f in fonts.fallbacks]


def test_without_any_font_the_export_says_what_to_do(monkeypatch, no_installed_fonts):
    monkeypatch.setattr(pdf_module, "bundled_fonts", lambda: (None, ()))
    with pytest.raises(pdf_module.PdfFontError, match="fonts-noto-cjk"):
        pdf_module.find_fonts()


_EXPORT_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from app.core.actor import Actor
    from app.core.auth.roles import ROLES
    from app.core.context import AppContext
    from app.core.export import Selection, export_package
    from app.core.export.pdf import find_fonts
    data, url, out = sys.argv[1:4]
    ctx = AppContext(data, url)
    try:
        result = export_package(ctx, Actor("os:tester", roles=frozenset(ROLES), workstation="test-host"),
                                Selection(msgids=("../../x",), context_hours=0), Path(out))
    finally:
        ctx.close()
    print(json.dumps({"fonts": find_fonts().describe(), "pdf_files": result.counts["pdf_files"]}))
""")


def test_export_on_a_computer_without_fonts(export_archive, tmp_path):
    """The export runs in a mount namespace where /usr/share/fonts is an empty folder (so neither
    fontconfig nor the well-known paths find a font): its PDF still holds the Chinese and the emoji."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to hide /usr/share/fonts in a mount namespace")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces are not allowed here: {probe.stderr.decode(errors='replace').strip()}")
    original, url, _ = export_archive
    data = tmp_path / "archive"  # a copy: the export's key and records stay out of the shared archive
    shutil.copytree(original, data, symlinks=True)
    url = url.replace(str(original), str(data))
    assert str(data) in url
    out = tmp_path / "pkg"
    shell = 'mount -t tmpfs -o size=1m none /usr/share/fonts && exec "$@"'
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", shell, "sh",
                           sys.executable, "-c", _EXPORT_SCRIPT, str(data), url, str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE": "correct horse battery staple"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    used = [report["fonts"]["text"], *report["fonts"]["fallbacks"]]
    assert all(not p.startswith("/usr/share/fonts") for p in used), used
    assert report["pdf_files"] == 1
    (pdf,) = (out / "data" / "transcripts").glob("*.pdf")
    flat = "".join("".join(pdf_pages(pdf)).split())
    assert "中文😀" in flat and "野家ＡＢＣ" in flat and "⟨U+20BB7⟩" in flat
    assert "会话记录Transcript" in flat and "第1页Page1" in flat
