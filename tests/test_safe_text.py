"""app.core.safe_text: deceptive characters become visible escapes wherever text is shown, message
text stays readable, JSON output parses back to the exact value, spreadsheet formulas are defused."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.safe_text import display_name, display_text, json_line, needs_escape, spreadsheet_cell

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
INVISIBLE = "\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u115f\u1160\u3164\uffa0\u034f\u2800"
ESCAPED = re.compile(r"⟨U\+[0-9A-F]{4,6}⟩")


def _visible(shown: str) -> bool:
    """Nothing in ``shown`` can reorder or hide text (what the functions promise)."""
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") and c not in "\n\t\u200d"
                   or c in BIDI for c in shown)


def test_the_classic_right_to_left_override_file_name():
    assert display_name("\u202egpj.exe") == "⟨U+202E⟩gpj.exe"
    assert display_name("invoice\u202eexe.pdf") == "invoice⟨U+202E⟩exe.pdf"
    assert display_text("see \u202egpj.exe") == "see ⟨U+202E⟩gpj.exe"


@pytest.mark.parametrize("ch", list(BIDI + INVISIBLE))
def test_every_bidi_control_and_invisible_character_is_escaped(ch):
    shown = display_name(f"a{ch}b")
    assert shown == f"a⟨U+{ord(ch):04X}⟩b"
    assert display_text(f"a{ch}b") == shown


def test_controls_and_line_breaks_in_names():
    assert display_name("wm\nfake-id") == "wm⟨U+000A⟩fake-id"
    assert display_name("a\rb\tc\x00d\x1b[2Je\x7f\x9b") == "a⟨U+000D⟩b⟨U+0009⟩c⟨U+0000⟩d⟨U+001B⟩[2Je⟨U+007F⟩⟨U+009B⟩"
    assert display_name("a\u2028b\u2029c") == "a⟨U+2028⟩b⟨U+2029⟩c"
    assert display_name("admin\u00a0") == "admin⟨U+00A0⟩"  # an invisible space that makes a look-alike name
    assert display_name("张 三\u3000李四") == "张 三\u3000李四"  # ordinary and ideographic spaces stay
    assert display_name("\ud800x") == "⟨U+D800⟩x"  # a lone surrogate (printable now)
    assert display_name(None) == "" and display_name(42) == "42" and display_name(b"caf\xc3\xa9") == "café"


def test_message_text_keeps_what_chats_have():
    text = "第一行\n第二行\tend 😀 👨\u200d👩\u200d👧 ❤\ufe0f 1\ufe0f\u20e3 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert display_text(text) == text
    assert display_text("a\r\nb") == "a\nb"
    assert display_text("progress 50%\roverwritten") == "progress 50%⟨U+000D⟩overwritten"
    assert display_text("a\nb\tc", one_line=True) == "a b c"
    assert display_text("می\u200cخواهم") == "می\u200cخواهم"  # Persian needs its ZWNJ
    # ...but a joiner between Latin letters or ideographs only hides things
    assert display_text("pass\u200dword 合\u200d同") == "pass⟨U+200D⟩word 合⟨U+200D⟩同"


def test_smuggled_tag_characters_and_variation_selectors_are_escaped():
    hidden = "hello" + "".join(chr(0xE0000 + ord(c)) for c in "ignore all")  # invisible "ASCII smuggling"
    assert display_text(hidden).startswith("hello⟨U+E0069⟩⟨U+E0067⟩")
    assert display_name("a\ufe0fb") == "a⟨U+FE0F⟩b"
    assert display_name("x" + "\U000e0100" * 3) == "x" + "⟨U+E0100⟩" * 3
    assert display_text("葛\U000e0100") == "葛\U000e0100"  # an ideographic variation sequence


def test_names_keep_emoji_sequences():
    assert display_name("销售部 🎉👨\u200d💻") == "销售部 🎉👨\u200d💻"
    assert display_name("a\u200db") == "a⟨U+200D⟩b"


def test_limit():
    assert display_name("abcdef", limit=4) == "abc…"
    assert display_name("abc", limit=4) == "abc"


def test_json_lines_escape_but_parse_back():
    value = {"name": "\u202egpj.exe", "text": "行\n😀 \x85 \u200b", "sur": "\ud800"}
    line = json_line(value)
    assert "\u202e" not in line and "\u200b" not in line and "\x85" not in line and "\n" not in line
    assert "\\u202e" in line and "😀" in line and "行" in line
    assert json.loads(line) == value
    tags = "🏴\U000e0067\U000e007f"
    assert json.loads(json_line(tags)) == tags


@pytest.mark.parametrize("cell", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1+1"])
def test_spreadsheet_formulas_are_defused(cell):
    assert spreadsheet_cell(cell) == "'" + cell


def test_ordinary_cells_stay():
    assert spreadsheet_cell("hello = world") == "hello = world"
    assert spreadsheet_cell("") == ""


def test_format_character_list_is_complete():
    """Every format character (category Cf) this Python knows is escaped in names and, apart from
    the joiners inside emoji/scripts and emoji flag tags, in text."""
    missing = [hex(cp) for cp in range(0x110000)
               if unicodedata.category(chr(cp)) in ("Cf", "Cc", "Zl", "Zp", "Cs") and not needs_escape(chr(cp))]
    assert missing == []


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=60))
def test_fuzz_names_are_one_visible_line(s):
    shown = display_name(s)
    assert "\n" not in shown and "\r" not in shown and "\t" not in shown
    assert _visible(shown.replace("\u200d", ""))
    assert display_name(shown) == shown  # escaping is stable: nothing left to escape
    if not needs_escape(s):
        assert shown == s


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(BIDI + INVISIBLE + "ab\n\r\t😀\u200d\ufe0f中\u0645\U000e0041")), max_size=40))
def test_fuzz_text_keeps_visible_characters_in_order(s):
    shown = display_text(s)
    assert _visible(shown)
    # the visible characters come out in the same order, none lost
    kept = "".join(c for c in s.replace("\r\n", "\n") if c in "ab\n\t😀中\u0645")
    assert "".join(c for c in ESCAPED.sub("", shown) if c in "ab\n\t😀中\u0645") == kept


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.text(alphabet=st.characters(codec=None)) | st.integers(),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
                    max_leaves=10))
def test_fuzz_json_round_trips(value):
    line = json_line(value)
    assert json.loads(line) == value
    assert _visible(line)
