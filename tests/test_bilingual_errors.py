"""The errors a reviewer meets in the window — the review services' refusals, an export's and its
signing key's failures, a backup's and a restore's, a setting that cannot be used, an account
operation refused or not permitted — are written in English and Chinese where they are raised (the window shows the
one of its language; the CLI prints the English one), and cross processes whole."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

from app.core.export import ExportError
from app.core.review import ReviewError

ROOT = Path(__file__).resolve().parents[1]
# every raise of these names one sentence in each language; some pass on another error's two sentences
BILINGUAL = {"ReviewError", "ExportError", "ExportCancelled", "ExportKeyError", "ExportKeyPassphraseNeeded",
             "WrongExportKeyPassphrase", "PdfFontError", "BackupError", "BackupCancelled",
             "SettingsError", "QueueSettingsError", "AccountError", "PermissionDenied",
             "DatabaseError", "NotAnArchiveError", "SdkLoadError", "LibraryCheck"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _constants(node: ast.AST) -> str:
    return "".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def _passed_on(en: ast.AST, zh: ast.AST) -> bool:
    """The Chinese sentence is (or holds) another bilingual error's: ``X(exc.message_en, exc.message_zh)``,
    ``X(f"{source}: {exc}", f"{source}：{exc.message_zh}")``."""
    return any(isinstance(n, ast.Attribute) and n.attr == "message_zh" for n in ast.walk(zh))


def test_every_such_error_is_raised_in_both_languages():
    calls = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in BILINGUAL:
                calls.append((path.relative_to(ROOT), node))
    assert len(calls) > 200  # review refusals; export, backup, settings, account, database, SDK library
    for path, call in calls:
        where = f"{path}:{call.lineno}"
        args = call.args[1:] if call.func.id == "LibraryCheck" else call.args  # LibraryCheck(ok, English, Chinese)
        assert len(args) == 2, where
        if _passed_on(*args):
            continue
        en, zh = (_constants(a) for a in args)
        assert en and not CJK.search(en), where
        assert CJK.search(zh), where


def test_the_error_keeps_both_sentences_across_processes():
    exc = ReviewError("there is no tag 'x'", "没有标签“x”")
    back = pickle.loads(pickle.dumps(exc))
    assert (str(back), back.message_en, back.message_zh) == ("there is no tag 'x'", "there is no tag 'x'",
                                                              "没有标签“x”")
    assert isinstance(back, ValueError)
    exc = ExportError("the selection holds no messages", "所选范围内没有消息")
    back = pickle.loads(pickle.dumps(exc))
    assert (str(back), back.message_zh) == ("the selection holds no messages", "所选范围内没有消息")
    assert isinstance(back, RuntimeError)
    from app.core.auth import PermissionDenied
    from app.core.sdk import SdkLoadError

    for exc in (PermissionDenied("session s is outside the scope of account 'a'", "会话 s 不在账号“a”的范围内",
                                 username="a", permission="scope"),
                SdkLoadError("The SDK library /x does not exist", "SDK 库 /x 不存在")):  # from an SDK host process
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and (back.message_en, back.message_zh) == (exc.message_en, exc.message_zh)
