"""Every command answers with one sentence and an exit code (1 bad input, 2 usage, 4 not
permitted), never a traceback, and an error never carries message content: dates of any shape,
numbers of any size, queries that start with '-', text that is not text, unwritable and full disks,
database errors with message text in their parameters, and the safety net for what is left."""

from __future__ import annotations

import errno
import os
import pathlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import DataError, IntegrityError

from app.cli.base import describe_database_error, describe_os_error

from .kit import SECRET

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------ dates

EXTREME_DATES = ["0001-01-01", "9999-12-31", "1969-12-31", "9999-12-31 23:59", "0001-01-01T00:00:00"]
NOT_DATES = ["0000-00-00", "0000-01-01", "-1", "-2025-01-01", "99999999999999999999", "10000-01-01", "2025-02-30",
             "2025-13-01", "yesterday", "", "1e9", "2025-01-01T24:00", "x" * 10_000]
DATE_COMMANDS = [("messages",), ("audit", "list")]


@pytest.mark.parametrize("command", DATE_COMMANDS)
@pytest.mark.parametrize("option", ["--from", "--to"])
def test_any_date_is_a_filter_or_a_usage_error(archive, command, option):
    for value in EXTREME_DATES:
        archive(*command, option, value)
    for value in NOT_DATES:
        result = archive(*command, option, value, code=2)
        assert "is not a date; use YYYY-MM-DD" in result.output and len(result.output) < 1000
    # year 1 to 9999 holds every message; a range before 1970 or after 9999 none
    everything = archive("messages", "--from", "0001-01-01", "--to", "9999-12-31").output
    assert everything.count("\n") == 4
    assert archive("messages", "--to", "1969-12-31").output == ""
    assert archive("messages", "--from", "9999-12-31").output == ""


def test_search_date_filters_of_any_year(archive):
    assert archive("search", "合同", "date:0001-01-01..9999-12-31", "--count").output.count("\n") == 3
    for query in ("date:0001-01-01", "date:9999", "date:9999-12-31", "before:0001-01-02", "after:9999-12-31T23:59"):
        assert archive("search", query).output == ""
    for query in ("date:0000-01-01", "date:0000-00-00", "after:99999", "before:-1", "date:2025-02-30"):
        result = archive("search", query, code=1)
        assert "date" in result.output and "(at character" in result.output


def test_export_dates_of_any_year(archive, tmp_path):
    result = archive("export", "--query", "合同", "--from", "0001-01-01", "--to", "9999-12-31", "--no-pdf",
                     "--out", str(tmp_path / "all"))
    assert "2 hits" in result.output
    result = archive("export", "--query", "合同", "--from", "0000-00-00", "--out", str(tmp_path / "x"), code=2)
    assert "is not a date" in result.output and not (tmp_path / "x").exists()


# ------------------------------------------------------------------ numbers

HUGE = ["1e20", "-1", "0", "99999999999999999999", "9223372036854775808", "nan", "inf", "٣٣٣٣٣٣٣٣٣٣٣٣٣٣٣٣٣٣٣٣٣",
        "0x10", ""]


@pytest.mark.parametrize("args", [("search", "合同"), ("sessions",), ("messages",), ("runs",), ("audit", "list"),
                                  ("jobs",)])
def test_limits_are_bounded_and_refused_as_usage_errors(archive, args):
    for value in HUGE:
        result = archive(*args, "--limit", value, code=2)
        assert "Invalid value for '--limit'" in result.output
    archive(*args, "--limit", "1")


@pytest.mark.parametrize("args", [("export", "--query", "合同", "--out", "pkg", "--context"),
                                  ("login", "--print-token", "--hours"), ("worker", "--concurrency"),
                                  ("demo", "--messages")])
def test_other_numbers_are_bounded(archive, args):
    for value in ("nan", "inf", "-inf", "1e400", "-1", "99999999999999999999"):
        result = archive(*args, value, code=2)
        assert "Invalid value for" in result.output


# ------------------------------------------------------------------ search words that start with '-'

def test_search_words_may_start_with_a_dash_as_the_readme_writes_them(archive):
    assert archive("search", "-合同").output.count("\n") == 2  # m3 and m4 have no 合同
    assert archive("search", "合同", "-取消").output.count("\n") == 1
    assert archive("search", "-取消 合同", "--limit", "5").output.count("\n") == 1
    assert archive("search", "--", "-取消", "合同").output.count("\n") == 1
    assert archive("search", "--", '"--"').output == ""  # after `--`, even "--" is a query word
    assert archive("search", '"-dash"').output.count("\n") == 1
    result = archive("search", "--limt", "5", "合同", code=2)  # a typo of an option is not searched for
    assert "no such option: --limt" in result.output and "--limit" in result.output
    assert "(at character 1)" in archive("search", "-", code=1).output


def test_query_errors_point_at_the_mistake_in_a_window(archive):
    result = archive("search", "x " * 500 + '"open', code=1)
    first, caret = result.output.splitlines()[:2]
    assert first.startswith("…") and len(first) < 100 and first[len(caret) - 1] == '"'
    result = archive("search", "(" * 300 + "x" + ")" * 300, code=1)
    assert "nest more than 32 deep" in result.output
    assert "characters long" in archive("search", "x" * 100_000, code=1).output
    archive("search", "NOT " * 300 + "合同")


# ------------------------------------------------------------------ text that is not text

@pytest.mark.parametrize("args", [("search", "\udcff"), ("messages", "--session", "\udce9"),
                                  ("accounts", "create", "\udcff", "--role", "reviewer"),
                                  ("audit", "list", "--object", "a\udcffb"),
                                  ("export", "--query", "合同", "--out", "\udcff"),
                                  ("search", "\x00"), ("messages", "--session", "a\x00"), ("verify", "\x00"),
                                  ("search", "\ud800"), ("export", "--out", "\ud800x", "--query", "x")])
def test_values_that_are_not_text_are_usage_errors(archive, args):
    result = archive(*args, code=2)
    assert "NUL" in result.output or "not valid text" in result.output


def test_a_token_or_password_that_is_not_text(archive):
    result = archive("whoami", env={"WECOM_AUDITOR_TOKEN": "wat_\udcff\udcfe"}, code=1)
    assert "not valid" in result.output
    result = archive("login", "-u", "tester", "--password-stdin", "--print-token", input=b"\xff\xfe\n", code=2)
    assert "not UTF-8" in result.output


# ------------------------------------------------------------------ unwritable and full disks

def test_a_data_folder_that_is_a_file_or_cannot_be_created(archive, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("x")
    result = archive("sessions", "--data-dir", str(tmp_path / "a-file" / "data"), code=1)
    assert "cannot open the data folder" in result.output and str(tmp_path / "a-file") in result.output
    real_mkdir = pathlib.Path.mkdir

    def read_only(self, *args, **kwargs):
        if "ro-data" in str(self):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", read_only)
    result = archive("sessions", "--data-dir", str(tmp_path / "ro-data"), code=1)
    assert f"{tmp_path / 'ro-data'} is on a read-only file system" in result.output
    assert "--data-dir" in result.output


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "is full"), (errno.EROFS, "read-only file system"),
                                         (errno.EACCES, "no permission")])
def test_an_export_destination_that_cannot_be_written(archive, tmp_path, monkeypatch, code, words):
    real = pathlib.Path.write_bytes

    def failing(self, data):  # the package is built in a hidden folder beside the destination first
        if ".export-" in str(self):
            raise OSError(code, os.strerror(code))  # like a full disk: no file name
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", failing)
    result = archive("export", "--query", "合同", "--no-pdf", "--out", str(tmp_path / "pkg.zip"), code=1)
    assert result.output.startswith("Error: cannot write the package: ")
    assert words in result.output and str(tmp_path) in result.output and "--out" in result.output
    assert result.output.count("\n") == 1 and ".export-" not in result.output
    assert not (tmp_path / "pkg.zip").exists()


def test_an_audit_csv_that_cannot_be_written_names_the_csv(archive, tmp_path):
    (tmp_path / "a-file").write_text("x")
    target = tmp_path / "a-file" / "audit.csv"
    result = archive("audit", "list", "--csv", str(target), code=1)
    assert result.output.startswith("Error: cannot write the CSV file: ") and str(target) in result.output


def test_names_file_and_index_errors_name_their_path(archive, tmp_path, monkeypatch):
    from app.core.search import service

    def unopenable(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(service, "index_for", unopenable)
    result = archive("search", "合同", code=1)
    assert "the search index at" in result.output and "reindex" in result.output


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "the disk holding"), (errno.EROFS, "read-only"),
                                         (errno.EACCES, "no permission"), (errno.ENOENT, "does not exist"),
                                         (errno.ENOTDIR, "is a file where a folder is needed"),
                                         (errno.EISDIR, "is a folder where a file"), (errno.EIO, "input/output"),
                                         (errno.ELOOP, "Too many levels")])
def test_each_file_error_is_one_sentence_with_its_path(code, words):
    text = describe_os_error(OSError(code, os.strerror(code), "/x/y"), action="write the package")
    assert text.startswith("cannot write the package: ") and words in text and "/x/y" in text and "\n" not in text
    text = describe_os_error(OSError(code, os.strerror(code)), "/fallback")
    assert "/fallback" in text


# ------------------------------------------------------------------ database errors and the safety net

def _database_failure(exc):
    def fail(self, *args, **kwargs):
        raise exc
    return fail


@pytest.mark.parametrize("orig, words", [
    (sqlite3.OperationalError("database or disk is full"), "is full"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "is read-only"),
    (sqlite3.IntegrityError("UNIQUE constraint failed: contacts.userid"), "UNIQUE constraint failed"),
])
def test_database_errors_are_one_sentence_without_the_statement_values(archive, monkeypatch, orig, words):
    from app.core.archive import ArchiveService

    exc = IntegrityError("INSERT INTO messages (content_text) VALUES (?)", (SECRET,), orig)
    assert SECRET in str(exc)  # what a careless handler would print
    monkeypatch.setattr(ArchiveService, "sessions", _database_failure(exc))
    result = archive("sessions", code=1)
    assert words in result.output and SECRET not in result.output and result.output.count("\n") == 1
    assert SECRET not in archive.log_file.read_text(encoding="utf-8")


def test_a_driver_error_that_reaches_a_command_unwrapped_is_one_sentence(archive, monkeypatch):
    from app.core.archive import ArchiveService

    monkeypatch.setattr(ArchiveService, "sessions", _database_failure(sqlite3.OperationalError("disk I/O error")))
    result = archive("sessions", code=1)
    assert "input/output error on the archive database sqlite" in result.output and "(is it full?)" in result.output


def test_a_mysql_error_quoting_a_value_is_named_by_its_code(monkeypatch):
    import pymysql

    orig = pymysql.err.DataError(1366, f"Incorrect string value: '{SECRET}' for column 'content_text' at row 1")
    text = describe_database_error(DataError("INSERT ...", (SECRET,), orig), "mysql+pymysql://u@h/db")
    assert text == "the archive database mysql+pymysql://u@h/db refused the operation (MySQL error 1366)"
    lost = pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
    assert "lost the connection" in describe_database_error(DataError("SELECT 1", (), lost))


def test_an_unexpected_error_is_one_sentence_and_its_traceback_goes_to_the_log(archive, monkeypatch):
    from app.core.archive import ArchiveService

    def broken(self, *args, **kwargs):
        raise KeyError(f"message text {SECRET}")

    monkeypatch.setattr(ArchiveService, "sessions", broken)
    result = archive.run("sessions")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert result.output.startswith("Error: internal error (KeyError) in this command; the details are in the "
                                    f"log file {archive.log_file}")
    assert SECRET not in result.output
    log = archive.log_file.read_text(encoding="utf-8")
    assert "internal error in `main sessions`" in log
    assert 'in broken\n' in log and "KeyError: (message withheld" in log and SECRET not in log


def test_an_unexpected_error_without_a_writable_log_still_is_one_sentence(archive, monkeypatch):
    import builtins

    from app.cli import base
    from app.core.archive import ArchiveService

    monkeypatch.setattr(ArchiveService, "sessions", _database_failure(RuntimeError("boom")))
    monkeypatch.setattr(base, "_log_file", lambda ctx: (None, "no permission to use /logs"))
    result = archive.run("sessions")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "internal error (RuntimeError)" in result.output and "no log could be written" in result.output
    # the log file opens but the disk is full: the sentence does not point at a log without the details
    monkeypatch.undo()
    monkeypatch.setattr(ArchiveService, "sessions", _database_failure(RuntimeError("boom")))
    real_open = builtins.open

    def full(path, *args, **kwargs):
        if str(path) == str(archive.log_file) and args[:1] == ("a",):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full)
    result = archive.run("sessions")
    assert result.exit_code == 1 and "no log could be written (the disk holding" in result.output


# ------------------------------------------------------------------ real processes

def _run(*args: str, archive, stdin=None, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "WECOM_AUDITOR_TOKEN": archive.token, "PYTHONIOENCODING": "", "LC_ALL": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(archive.data), "--db", archive.db_url,
                           *args], cwd=ROOT, capture_output=True, env=env, timeout=120, stdin=stdin, **kwargs)


def test_in_a_real_process_dash_words_undecodable_bytes_and_closed_pipes(archive):
    out = _run("search", "-合同", "合同 -取消", archive=archive)
    assert out.returncode == 0 and out.stdout == b"", out.stderr
    out = _run("search", os.fsdecode(b"\xff\xfe"), archive=archive)
    assert out.returncode == 2 and b"not valid text" in out.stderr and b"Traceback" not in out.stderr
    out = _run("messages", "--from", "0001-01-01", "--to", "9999-12-31", "--limit", "99999999999999999999",
               archive=archive)
    assert out.returncode == 2 and b"Traceback" not in out.stderr
    # the reader of the output goes away (`| head -0`): no traceback, no "Exception ignored"
    proc = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(archive.data), "--db", archive.db_url,
                             "messages", "--json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "WECOM_AUDITOR_TOKEN": archive.token})
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert b"Traceback" not in err and b"Exception ignored" not in err and proc.returncode in (0, 1), err
