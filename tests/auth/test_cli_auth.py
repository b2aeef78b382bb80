"""The command line authenticates: first run, login/logout/whoami, tokens for scripts, no-login,
account administration, refusals (exit 4), lockout after five wrong passwords, scoped reviewers,
and `audit list/head/verify` — including tampering done directly in the database, which `audit
verify` must name (SQLite and MariaDB). Runs the CLI in this process (the in-memory keyring of
tests/conftest.py holds the login tokens)."""

from __future__ import annotations

import csv
import json

import pytest
from auth_chats_kit import CHATS, LN, ZW, write_chats
from auth_kit import FAST
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from app.cli import main
from app.core.store.db import open_database
from app.core.store.models import AuditEntry
from app.core.sync.pipeline import ensure_corp

ADMIN_PW = "admin-pass-0001"
ALICE_PW = "alice-pass-0002"
BOB_PW = "bob-pass-000003"
CAROL_PW = "carol-pass-0004"
LOG = AuditEntry.__table__


class Cli:
    def __init__(self, data, db_url):
        self.data, self.db_url = str(data), db_url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, code: int = 0, env: dict | None = None):
        result = self.runner.invoke(main, [*args, "--data-dir", self.data, "--db", self.db_url], input=input,
                                    env=env)
        assert result.exit_code == code, f"{args} exited {result.exit_code}:\n{result.output}"
        assert "Traceback" not in result.output
        return result

    def login(self, username: str, password: str) -> None:
        self("login", "-u", username, "--password-stdin", input=password + "\n")


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("WECOM_AUDITOR_TOKEN", raising=False)
    monkeypatch.setattr("app.core.auth.accounts.PasswordHasher", lambda: FAST)  # cheap hashing for tests
    db = open_database(db_url)
    write_chats(db, ensure_corp(db, "wwcli"), list(CHATS))
    db.close()
    return Cli(tmp_path / "data", db_url)


@pytest.fixture
def team(cli):
    """An administrator (logged in) and alice (reviewer), bob (reviewer limited to zhangwei's
    sessions), carol (exporter + auditor)."""
    cli("accounts", "init", "--username", "admin", "--password-stdin", input=ADMIN_PW + "\n")
    for name, pw, extra in (("alice", ALICE_PW, ["--role", "reviewer"]),
                            ("bob", BOB_PW, ["--role", "reviewer", "--scope-user", ZW]),
                            ("carol", CAROL_PW, ["--role", "exporter", "--role", "auditor"])):
        cli("accounts", "create", name, *extra, "--password-stdin", "--keep-password", input=pw + "\n")
    return cli


def _audit(db_url) -> list:
    db = open_database(db_url)
    try:
        with db.read() as conn:
            return conn.execute(select(LOG).order_by(LOG.c.seq)).all()
    finally:
        db.close()


def test_a_fresh_archive_asks_for_its_first_administrator(cli):
    result = cli("sessions", code=1)
    assert "no account yet" in result.output and "wecom-auditor accounts init" in result.output
    result = cli("accounts", "init", "--username", "Admin", "--password-stdin", input="short\n", code=1)
    assert "at least 10 characters" in result.output
    result = cli("accounts", "init", "--username", "Admin", "--password-stdin", input=ADMIN_PW + "\n")
    assert "Created the administrator 'admin'" in result.output and "Logged in as admin" in result.output
    assert json.loads(cli("whoami", "--json").stdout)["roles"] == ["administrator"]
    result = cli("accounts", "init", "--username", "other", "--password-stdin", input=ADMIN_PW + "\n", code=1)
    assert "has accounts already" in result.output
    # an administrator reads no message content
    result = cli("sessions", code=4)
    assert "may not browse sessions and read messages (messages.read)" in result.output


def test_login_logout_and_tokens_for_scripts(team):
    cli = team
    cli("logout")
    result = cli("whoami", code=1)
    assert "not logged in" in result.output and "wecom-auditor login" in result.output
    result = cli("login", input=f"alice\n{ALICE_PW}\n")  # prompted, the password without echo
    assert "Logged in as alice (reviewer)" in result.output and ALICE_PW not in result.output
    assert json.loads(cli("whoami", "--json").stdout)["username"] == "alice"
    assert len(cli("sessions").stdout.splitlines()) == 4
    # a token for scripts: printed, not kept
    result = cli("login", "-u", "carol", "--password-stdin", "--print-token", input=CAROL_PW + "\n")
    token = result.stdout.strip()
    assert token.startswith("wat_") and "\n" not in token
    assert json.loads(cli("whoami", "--json").stdout)["username"] == "alice"  # the kept login is unchanged
    env = {"WECOM_AUDITOR_TOKEN": token}
    who = json.loads(cli("whoami", "--json", env=env).stdout)
    assert who["username"] == "carol" and who["login"].startswith("login token #")
    cli("logout", env=env)
    result = cli("whoami", env=env, code=1)
    assert "the login token was revoked" in result.output
    result = cli("whoami", env={"WECOM_AUDITOR_TOKEN": "wat_" + "x" * 43}, code=1)
    assert "not valid" in result.output
    cli("logout")
    cli("whoami", code=1)


def test_each_role_gets_exactly_its_commands_and_a_clear_refusal_otherwise(team):
    cli = team
    # administrator
    cli("accounts", "list")
    for args in (("sessions",), ("search", "合同"), ("audit", "list")):
        assert "may not" in cli(*args, code=4).output
    # reviewer
    cli.login("alice", ALICE_PW)
    assert "合同" in cli("search", "合同").stdout
    assert len(cli("messages").stdout.splitlines()) == len(CHATS)
    for args, what in ((("accounts", "list"), "manage accounts"), (("audit", "verify"), "read the audit trail"),
                       (("audit", "head"), "read the audit trail"), (("reindex",), "run a sync"),
                       (("accounts", "no-login", "on"), "change settings")):
        result = cli(*args, code=4)
        assert f"account 'alice' may not {what}" in result.output and result.output.count("\n") == 1
    # exporter + auditor
    cli.login("carol", CAROL_PW)
    cli("audit", "list")
    cli("audit", "verify")
    cli("runs")
    for args in (("sessions",), ("messages",), ("search", "合同"), ("accounts", "list")):
        assert "account 'carol' may not" in cli(*args, code=4).output


def test_a_scoped_reviewer_sees_only_its_sessions_in_the_cli(team):
    cli = team
    cli.login("bob", BOB_PW)
    sessions = [json.loads(line) for line in cli("sessions", "--json").stdout.splitlines()]
    assert len(sessions) == 2 and all(ZW in s["participants"] for s in sessions)
    hits = [json.loads(line) for line in cli("search", "合同", "--json", "--count").stdout.splitlines()]
    assert hits[-1] == {"total": 2}
    assert {h["text"] for h in hits[:-1]} == {"合同 第一份", "合同 第四份"}
    assert {json.loads(line)["msgid"] for line in cli("messages", "--json").stdout.splitlines()} == {"m1", "i1", "m4"}
    cli.login("alice", ALICE_PW)
    other = next(s["session_id"] for s in map(json.loads, cli("sessions", "--json").stdout.splitlines())
                 if ZW not in s["participants"])
    cli.login("bob", BOB_PW)
    result = cli("messages", "--session", other, code=4)
    assert "outside the scope of account 'bob'" in result.output


def test_five_wrong_passwords_lock_the_account(team):
    cli = team
    for attempt in range(1, 6):
        result = cli("login", "-u", "alice", "--password-stdin", input="wrong-password-x\n", code=1)
        if attempt < 5:
            assert "wrong user name or password" in result.output
    assert "too many wrong passwords: this user name is locked on this workstation until" in result.output
    result = cli("login", "-u", "alice", "--password-stdin", input=ALICE_PW + "\n", code=1)
    assert "locked on this workstation until" in result.output
    cli.login("admin", ADMIN_PW)
    assert "locked until" in cli("accounts", "list").stdout
    cli("accounts", "unlock", "alice")
    cli.login("alice", ALICE_PW)


def test_accounts_administration(team):
    cli = team
    listing = [json.loads(line) for line in cli("accounts", "list", "--json").stdout.splitlines()]
    assert {a["username"]: a["roles"] for a in listing} == {
        "admin": ["administrator"], "alice": ["reviewer"], "bob": ["reviewer"], "carol": ["auditor", "exporter"]}
    assert next(a for a in listing if a["username"] == "bob")["scope"] == {"userids": [ZW], "departments": []}
    cli("accounts", "roles", "alice", "reviewer", "exporter")
    cli("accounts", "scope", "alice", "--user", LN)
    cli("accounts", "scope", "bob", "--everything")
    result = cli("accounts", "roles", "admin", "reviewer", code=1)
    assert "only enabled administrator" in result.output
    cli("accounts", "disable", "carol")
    assert "disabled" in cli("login", "-u", "carol", "--password-stdin", input=CAROL_PW + "\n", code=1).output
    cli("accounts", "enable", "carol")
    cli("accounts", "reset-password", "carol", "--password-stdin", input="carol-new-pass-05\n")
    result = cli("login", "-u", "carol", "--password-stdin", input="carol-new-pass-05\n", code=1)
    assert "must choose a new password first" in result.output
    cli("accounts", "passwd", "-u", "carol", "--password-stdin", input="carol-new-pass-05\ncarol-own-pass-06\n")
    cli.login("carol", "carol-own-pass-06")
    cli.login("admin", ADMIN_PW)
    cli("accounts", "reset-password", "carol", "--password-stdin", input="carol-new-pass-07\n")
    # at a terminal, the login asks for a new password (twice) at once
    answers = "carol-new-pass-07\nshort\nshort\ncarol-own-pass-08\ncarol-own-pass-08\n"
    result = cli("login", "-u", "carol", input=answers)
    assert "choose your own now" in result.output and "at least 10 characters; try again" in result.output
    assert "Logged in as carol" in result.output
    cli.login("carol", "carol-own-pass-08")
    cli.login("alice", ALICE_PW)
    info = json.loads(cli("whoami", "--json").stdout)
    assert info["roles"] == ["exporter", "reviewer"] and info["scope"] == [LN]


def test_no_login_only_while_the_archive_has_a_single_account(cli):
    cli("accounts", "init", "--username", "solo", "--password-stdin", "--no-login", input=ADMIN_PW + "\n")
    cli("logout")
    assert "no login" in json.loads(cli("whoami", "--json").stdout)["login"]
    cli("accounts", "create", "second", "--role", "reviewer", "--password-stdin", input=ALICE_PW + "\n")
    assert "not logged in" in cli("whoami", code=1).output  # two accounts now: a login is required
    cli.login("solo", ADMIN_PW)
    cli("accounts", "no-login", "off")
    logins = [r for r in _audit(cli.db_url) if r.action == "login"]
    assert any(json.loads(r.detail).get("method") == "no-login" for r in logins)


def test_audit_list_csv_head_and_verify(team, tmp_path):
    cli = team
    cli.login("alice", ALICE_PW)
    cli("search", "合同 第一份")
    cli.login("carol", CAROL_PW)
    lines = [json.loads(line) for line in cli("audit", "list", "--json", "--action", "search").stdout.splitlines()]
    assert [(r["account"], r["object"]) for r in lines] == [("alice", "合同 第一份")]
    failed = cli("audit", "list", "--account", "ALICE", "--action", "login").stdout
    assert "alice" in failed and "carol" not in failed
    out = tmp_path / "trail.csv"
    result = cli("audit", "list", "--csv", str(out))
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert f"{len(rows)} entries" in result.output and rows[0]["seq"] == "1"
    head = cli("audit", "head").stdout.strip()
    seq, digest = head.split(":")
    assert int(seq) > 10 and len(digest) == 64
    result = cli("audit", "verify", "--expect-head", head)
    assert result.stdout.startswith("audit trail intact")
    assert "SEQ:HASH" in cli("audit", "verify", "--expect-head", "12:nothex", code=2).output


@pytest.mark.parametrize("tamper, seq, kind", [
    ("edit", 6, "edited"),
    ("delete", 6, "deleted"),
    ("reorder", 6, "reordered"),
])
def test_tampering_with_the_trail_in_the_database_makes_verify_fail_and_name_the_entry(team, tamper, seq, kind):
    cli = team
    cli.login("carol", CAROL_PW)
    assert cli("audit", "verify").stdout.startswith("audit trail intact")
    db = open_database(cli.db_url)
    with db.write() as conn:
        if tamper == "edit":
            conn.execute(update(LOG).where(LOG.c.seq == seq).values(object="someone else"))
        elif tamper == "delete":
            conn.execute(delete(LOG).where(LOG.c.seq == seq))
        else:  # swap entries 6 and 7 (through a free seq)
            conn.execute(update(LOG).where(LOG.c.seq == seq).values(seq=-1))
            conn.execute(update(LOG).where(LOG.c.seq == seq + 1).values(seq=seq))
            conn.execute(update(LOG).where(LOG.c.seq == -1).values(seq=seq + 1))
    db.close()
    result = cli("audit", "verify", code=1)
    assert f"audit trail BROKEN at entry #{seq} ({kind})" in result.output
