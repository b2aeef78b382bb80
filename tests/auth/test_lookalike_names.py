"""A new or renamed account may not take a name that looks like an existing one: Unicode confusables
(Cyrillic а for a, Greek ο for o, 0 for o), fullwidth and other NFKC forms, another case, invisible
characters, and names mixing scripts are refused with one clear sentence, and nothing is created or
changed (SQLite and MariaDB). Distinct names — also Chinese, Japanese, Korean and Cyrillic ones —
are still accepted."""

from __future__ import annotations

import pytest
from auth_kit import PASSWORDS
from sqlalchemy import func, select

from app.core.actor import Actor
from app.core.auth import AUDITOR, AccountError, Action, AuditFilter
from app.core.store.models import Account

PW = PASSWORDS["reviewer"]


def _count(db) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(Account)).scalar_one()


@pytest.fixture
def existing(accounts, admin):
    for name in ("alice", "scope", "bob", "paypal", "张伟"):
        accounts.create_account(admin, name, PW, roles=["reviewer"])
    return admin


@pytest.mark.parametrize("name, expected", [
    ("аlice", "looks like the existing account 'alice'"),  # Cyrillic а (U+0430)
    ("alicе", "looks like the existing account 'alice'"),  # Cyrillic е (U+0435)
    ("ѕсоре", "looks like the existing account 'scope'"),  # whole word in Cyrillic
    ("b0b", "looks like the existing account 'bob'"),  # digit zero for o
    ("bοb", "looks like the existing account 'bob' (U+03BF GREEK SMALL LETTER OMICRON)"),
    ("раураl", "looks like the existing account 'paypal'"),  # Cyrillic р, а, у among Latin letters
    ("zhаng", "mixes the Cyrillic and Latin scripts"),  # like no account, but a spoof in waiting
    ("ωmega", "mixes the Greek and Latin scripts"),
    ("paypa1", "looks like the existing account 'paypal'"),  # digit one for l
    ("paypaI", None),  # names are shown case-folded: "paypai" does not look like paypal
    ("ＡＬＩＣＥ", "is taken"),  # fullwidth: NFKC makes it alice
    ("𝐚𝐥𝐢𝐜𝐞", "is taken"),  # mathematical bold
    ("Alice", "is taken"),
    ("ALICE", "is taken"),
    ("ali\u034fce", "invisible characters (U+034F COMBINING GRAPHEME JOINER)"),
    ("ali\ufe0fce", "invisible characters"),  # variation selector
    ("ali\u3164ce", "invisible characters (U+1160 HANGUL JUNGSEONG FILLER)"),  # NFKC of U+3164
    ("ali\u200bce", "must not contain spaces, control characters"),  # zero width space (a format character)
    ("ali\u202ece", "must not contain spaces, control characters"),  # right-to-left override
    ("ａlice\u00ad", "must not contain spaces, control characters"),  # soft hyphen
    ("張伟", None),  # traditional and simplified forms are different names
])
def test_look_alike_names_are_refused_with_one_sentence(accounts, existing, db, name, expected):
    before = _count(db)
    if expected is None:
        accounts.create_account(existing, name, PW, roles=["reviewer"])
        assert _count(db) == before + 1
        return
    with pytest.raises(AccountError) as err:
        accounts.create_account(existing, name, PW, roles=["reviewer"])
    message = str(err.value)
    assert expected in message, message
    assert "\n" not in message and message.count(": ") <= 2
    assert _count(db) == before


@pytest.mark.parametrize("name", ["alice2", "alicia", "li.na", "zhang_wei", "张三", "tony张", "田中さん",
                                  "김민준", "иван", "ΑΘΗΝΑ-2"])
def test_distinct_names_in_any_script_are_accepted(accounts, existing, name):
    info = accounts.create_account(existing, name, PW, roles=["reviewer"])
    assert info.username == name.casefold()


def test_renaming_to_a_look_alike_is_refused_and_a_fair_rename_is_recorded(accounts, existing, trail, clock):
    with pytest.raises(AccountError, match="looks like the existing account 'alice'"):
        accounts.rename(existing, "bob", "аlice")
    with pytest.raises(AccountError, match="is taken"):
        accounts.rename(existing, "bob", "ALICE")
    with pytest.raises(AccountError, match="mixes the Cyrillic and Latin scripts"):
        accounts.rename(existing, "bob", "bоb")  # its own name with a Cyrillic о
    info = accounts.rename(existing, "bob", "robert")
    assert info.username == "robert"
    assert accounts.rename(existing, "robert", "ROBERT").username == "robert"  # the same canonical name
    assert accounts.authenticate("robert", PW, "ws").username == "robert"
    auditor = Actor("os:auditor", roles=frozenset({AUDITOR}))
    entry = trail.entries(auditor, AuditFilter(actions=frozenset({Action.ACCOUNT_UPDATE})), limit=5)[0]
    assert entry.object == "bob -> robert"
    # the account's own old name does not count: carol may become caro1
    accounts.create_account(existing, "carol", PW, roles=["reviewer"])
    assert accounts.rename(existing, "carol", "caro1").username == "caro1"


def test_the_first_administrator_name_is_checked_too(accounts):
    with pytest.raises(AccountError, match="mixes the Cyrillic and Latin scripts"):
        accounts.create_first_admin("аdmin", "admin-pass-0001")
    with pytest.raises(AccountError, match="invisible"):
        accounts.create_first_admin("ad\u3164min", "admin-pass-0001")
    assert accounts.needs_first_admin()


def test_the_command_line_refuses_look_alikes_in_one_line(db_url, tmp_path, monkeypatch):
    from auth_kit import FAST
    from click.testing import CliRunner

    from app.cli import main

    monkeypatch.delenv("WECOM_AUDITOR_TOKEN", raising=False)
    monkeypatch.setattr("app.core.auth.accounts.PasswordHasher", lambda: FAST)
    runner = CliRunner()

    def cli(*args, input=None, code=0):
        result = runner.invoke(main, [*args, "--data-dir", str(tmp_path / "data"), "--db", db_url], input=input)
        assert result.exit_code == code, result.output
        return result.output

    cli("accounts", "init", "--username", "admin", "--password-stdin", input="admin-pass-0001\n")
    cli("accounts", "create", "alice", "--role", "reviewer", "--password-stdin", input=PW + "\n")
    out = cli("accounts", "create", "аlice", "--role", "reviewer", "--password-stdin", input=PW + "\n", code=1)
    assert out.strip().count("\n") == 0 and "looks like the existing account 'alice'" in out
    out = cli("accounts", "rename", "admin", "ＡＬＩＣＥ", code=1)
    assert "is taken" in out
    assert "root: administrator" in cli("accounts", "rename", "admin", "root")
