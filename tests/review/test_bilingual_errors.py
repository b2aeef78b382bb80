"""Every refusal of the review services is written in English and Chinese where it is raised (the
window shows the one of its language; the CLI prints the English one), and crosses processes whole."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

from app.core.review import ReviewError

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _constants(node: ast.AST) -> str:
    return "".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def test_every_review_error_is_raised_in_both_languages():
    calls = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ReviewError":
                calls.append((path.relative_to(ROOT), node))
    assert len(calls) > 40  # the review services' refusals, found
    for path, call in calls:
        where = f"{path}:{call.lineno}"
        assert len(call.args) == 2 and not call.keywords, where
        en, zh = (_constants(a) for a in call.args)
        assert en and not CJK.search(en), where
        assert CJK.search(zh), where
    # the review's check_text names what it checks in both languages too
    for path in sorted((ROOT / "app" / "core" / "review").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_text" and node.args:
                what = node.args[1]
                assert isinstance(what, ast.Tuple) and CJK.search(_constants(what.elts[1])), \
                    f"{path.relative_to(ROOT)}:{node.lineno}"


def test_the_error_keeps_both_sentences_across_processes():
    exc = ReviewError("there is no tag 'x'", "没有标签“x”")
    back = pickle.loads(pickle.dumps(exc))
    assert (str(back), back.message_en, back.message_zh) == ("there is no tag 'x'", "there is no tag 'x'",
                                                              "没有标签“x”")
    assert isinstance(back, ValueError)
