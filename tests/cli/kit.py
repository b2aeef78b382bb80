"""A small archive for the CLI error tests, and a way to run the CLI on it in this process.

Its messages carry SECRET, a marker that must never appear in an error, a log file or a record:
every test here that provokes a failure checks that."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from accounts_kit import cli_token
from click.testing import CliRunner, Result

from app.cli import main
from app.core.config.paths import AppPaths
from app.core.config.settings import CorpSettings, Settings, save_settings
from app.core.messages import parse_message
from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import Decrypted
from app.core.store.db import open_database
from app.core.sync.pipeline import ensure_corp
from app.core.sync.writer import write_batch

SECRET = "机密XYZZY"  # message content: never in errors or logs
T = 1_700_000_000_000
EXIT_CODES = {0, 1, 2, 3, 4}  # README: ok, failed, usage, cancelled, not permitted

CHATS = [  # msgid, sender, to, room, text
    ("m1", "zhangwei", ["lina"], "", f"合同 第一份 {SECRET}"),
    ("m2", "lina", ["zhangwei"], "", "取消 合同"),
    ("m3", "lina", ["wangfang"], "", "发票 5000元"),
    ("m4", "zhangwei", ["lina", "wangfang"], "room-1", f"-dash {SECRET} 群里"),
]


def write_chats(db, corp_id: int) -> None:
    items = []
    for k, (msgid, sender, to, room, text) in enumerate(CHATS):
        raw = json.dumps({"msgid": msgid, "action": "send", "from": sender, "tolist": to, "roomid": room,
                          "msgtime": T + k * 1000, "msgtype": "text", "text": {"content": text}},
                         ensure_ascii=False).encode()
        items.append(Decrypted(ChatDataItem(k + 1, msgid, 1, "k", "m"), raw, parse_message(raw)))
    write_batch(db, corp_id, 0, len(items), items, None)


@dataclass
class Archive:
    """An archive on SQLite in ``data``, with CHATS and a token of an account holding every role."""

    data: Path
    db_url: str
    token: str
    runner: CliRunner = field(default_factory=CliRunner)

    @property
    def log_file(self) -> Path:
        return self.data / "logs" / "wecom-auditor.log"

    def run(self, *args: str, input: str | bytes | None = None, env: dict | None = None) -> Result:
        """The CLI in this process: the data folder and database go before the command, so that
        a `--` among ``args`` keeps its meaning."""
        return self.runner.invoke(main, ["--data-dir", str(self.data), "--db", self.db_url, *args], input=input,
                                  env={"WECOM_AUDITOR_TOKEN": self.token, **(env or {})})

    def __call__(self, *args: str, code: int = 0, input: str | bytes | None = None, env: dict | None = None) -> Result:
        """Run and check: exit ``code``, no traceback, no internal error, no message content in a failure."""
        result = self.run(*args, input=input, env=env)
        assert_clean(result, args)
        assert result.exit_code == code, f"{args} exited {result.exit_code}, not {code}:\n{result.output}"
        return result


def assert_clean(result: Result, args=()) -> None:
    """What every CLI answer must be: an exit code the README documents, no traceback, no
    internal error, and (when it failed) no message content."""
    shown = f"{[a[:80] for a in args]} exited {result.exit_code}:\n{result.output[-2000:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{shown}\n{result.exc_info and result.exc_info[0]}"
    assert result.exit_code in EXIT_CODES, shown
    assert "Traceback" not in result.output, shown
    assert "internal error" not in result.output, shown
    if result.exit_code != 0:
        assert SECRET not in result.output, shown


def make_archive(tmp_path: Path, db_url: str | None = None) -> Archive:
    """The archive (default: SQLite in ``tmp_path``), with the corp "wwcli" configured in its data
    folder's settings (no SDK: commands that would sync fail with a sentence)."""
    data = tmp_path / "data"
    db_url = db_url or f"sqlite:///{tmp_path / 'archive.db'}"
    db = open_database(db_url)
    try:
        write_chats(db, ensure_corp(db, "wwcli", "CLI corp"))
        token = cli_token(db)
    finally:
        db.close()
    paths = AppPaths.resolve(data)
    paths.ensure()
    save_settings(Settings(corps=[CorpSettings(corpid="wwcli", name="CLI corp")]), paths)
    return Archive(data, db_url, token)
