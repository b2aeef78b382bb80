"""The command line's base: the ``wecom-auditor`` group, ``--data-dir``/``--db`` on every command
(``common``), and helpers the command modules share.

Every command takes ``--data-dir DIR`` and ``--db URL``. Errors print one clear line and exit 1;
a mistake in calling a command (an unknown option, a value that is not a date, a number out of
range, text that is not text) exits 2; a cancelled sync (Ctrl+C once) exits 3 after the current
batch commits; an action the account may not do exits 4 (``EXIT_NOT_PERMITTED``). Never a
traceback: ``common`` turns the archive's errors, file-system errors (path + what to do) and
database errors (without the values a statement carried: they may be message text) into one
sentence; what is still unexpected is caught by the group (:class:`_Main`), which prints "internal
error … details in the log file <path>" and logs the traceback with messages that could quote data
withheld (:func:`safe_traceback`).

Who is acting: every command that reads or changes the archive gets its actor from
:func:`current_actor` — the token in ``WECOM_AUDITOR_TOKEN``, else the token ``wecom-auditor login``
kept in the keyring for this data folder and archive, else "no login" (setting ``no_login``, only
while the archive has a single account), else a password prompt on a terminal. An archive with no
account at all asks for ``wecom-auditor accounts init`` (or ``demo``) first.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import os
import socket
import sqlite3
import sys
import traceback
from datetime import datetime
from pathlib import Path

import click
import pymysql.err
from sqlalchemy.exc import SQLAlchemyError, StatementError

from app.core.actor import Actor
from app.core.auth.errors import AuthenticationError, AuthError, PermissionDenied, TokenError
from app.core.config.secrets import SecretMissingError, keyring_available
from app.core.config.settings import SettingsError
from app.core.context import AppContext
from app.core.dates import clamp_ms, local_ms, ms_to_local_text
from app.core.media.storage import StorageError
from app.core.sdk import SdkError, SdkLoadError
from app.core.search import QueryError, SearchIndexError
from app.core.store.db import DatabaseError
from native.build import BuildError

EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED, EXIT_NOT_PERMITTED = 1, 2, 3, 4
TOKEN_ENV = "WECOM_AUDITOR_TOKEN"
MAX_LIMIT = 1_000_000  # rows one listing or search prints (--limit): beyond, use an export or --csv
LIMIT = click.IntRange(1, MAX_LIMIT)
MAX_DEMO_MESSAGES = 1_000_000
MAX_CONTEXT_HOURS = 24 * 366  # an export's context around each hit: up to a year


class Hours(click.FloatRange):
    """Hours from 0 to ``MAX_CONTEXT_HOURS``; NaN refused (it passes FloatRange's comparisons)."""

    def __init__(self) -> None:
        super().__init__(0, MAX_CONTEXT_HOURS)

    def convert(self, value, param, ctx):
        import math

        rv = super().convert(value, param, ctx)
        if math.isnan(rv):
            self.fail(f"{value!r} is not a number of hours", param, ctx)
        return rv


log = logging.getLogger(__name__)
# The drivers' own errors: what reaches a command when code uses a driver connection directly.
DBAPI_ERRORS = (sqlite3.Error, pymysql.err.Error)


class NotPermitted(click.ClickException):
    """PermissionDenied as a one-line message with exit code 4."""

    exit_code = EXIT_NOT_PERMITTED


def _ms_to_text(ms: int | None) -> str:
    return ms_to_local_text(ms)


_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


def _parse_date(value: str | None, *, end: bool = False) -> int | None:
    """A date or date-time in local time → ms. A bare end date includes that whole day. Any year
    1–9999 is accepted; dates before 1970 mean "from the start" (the archive holds nothing older).
    Raises click.BadParameter (exit 2) for anything else."""
    if value is None:
        return None
    for fmt in _DATE_FORMATS:
        try:
            dt = datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        ms = local_ms(dt)
        return clamp_ms(ms + 86_400_000 if end and fmt == "%Y-%m-%d" else ms)
    shown = value if len(value) <= 40 else value[:39] + "…"
    raise click.BadParameter(f"{shown!r} is not a date; use YYYY-MM-DD or 'YYYY-MM-DD HH:MM'")


# ------------------------------------------------------------------ errors as one sentence

def _shown_path(path) -> str:
    """A path for a message: undecodable bytes shown as U+FFFD, so the message can be printed."""
    text = os.fsdecode(path) if isinstance(path, bytes | os.PathLike) else str(path)
    return text.encode("utf-8", "replace").decode("utf-8")


def describe_os_error(exc: OSError, path=None, *, action: str = "", remedy: str = "") -> str:
    """One sentence for a failed file operation: what failed, which path, why, and what to do.

    ``path``: what to name when the error carries no file name (a write that hit a full disk);
    ``action``: what could not be done, e.g. "write the package" (→ "cannot write the package: …");
    ``remedy``: what to do instead of the general advice, e.g. "choose another --out"."""
    where = _shown_path(exc.filename if exc.filename is not None else path if path is not None else "a file")
    head = f"cannot {action}: " if action else ""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"{head}the disk holding {where} is full; free some space there ({remedy or 'or choose another place'})"
    if code == errno.EROFS:
        return f"{head}{where} is on a read-only file system; {remedy or 'choose a writable place'}"
    if code in (errno.EACCES, errno.EPERM):
        return f"{head}no permission to use {where}; give this user access to it, or {remedy or 'choose another place'}"
    if code == errno.ENOENT:
        return f"{head}{where} does not exist"
    if code == errno.ENOTDIR:
        return f"{head}part of {where} is a file where a folder is needed"
    if code == errno.EISDIR:
        return f"{head}{where} is a folder where a file is needed"
    if code == errno.EEXIST:
        return f"{head}{where} already exists; choose a new name"
    if code == errno.ENAMETOOLONG:
        return f"{head}a name in {where} is too long"
    if code == errno.EIO:
        return f"{head}the disk reported an input/output error on {where}; check the disk"
    return f"{head}{where}: {exc.strerror or type(exc).__name__}"


def describe_database_error(exc: Exception, url: str = "") -> str:
    """One sentence for a database failure (a SQLAlchemy error, or the driver's own), without the
    statement's parameters (they may hold message text) and without the server's message where it
    may quote a value."""
    orig = exc if isinstance(exc, DBAPI_ERRORS) else getattr(exc, "orig", None)
    where = f"the archive database{' ' + url if url else ''}"
    if isinstance(orig, sqlite3.Error):
        text = str(orig)  # SQLite's messages are fixed texts naming tables and columns, never values
        low = text.lower()
        if "full" in low:
            return f"the disk holding {where} is full: free some space and run the command again"
        if "disk i/o error" in low:
            return (f"the disk reported an input/output error on {where} (is it full?): free some space or "
                    f"check the disk, and run the command again")
        if "readonly" in low or "read-only" in low:
            return f"{where} is read-only: make its file and folder writable, or choose another (--db URL)"
        if "locked" in low or "busy" in low:
            return f"{where} is busy (another program holds it): try again in a moment"
        return f"{where} refused the operation ({text})"
    code = orig.args[0] if orig is not None and orig.args and isinstance(orig.args[0], int) else None
    if code in (2002, 2003, 2006, 2013):
        return f"lost the connection to {where} (MySQL error {code}): check the server and run the command again"
    if code in (1114, 1021):
        return f"{where} is full (MySQL error {code}): free space on the server and run the command again"
    if code in (1205, 1213):
        return f"{where} is busy (MySQL error {code}: a lock wait or deadlock): try again in a moment"
    if code is not None:  # the server's text may quote a value (e.g. 1366 "Incorrect string value")
        return f"{where} refused the operation (MySQL error {code})"
    return f"{where} failed ({type(orig or exc).__name__})"


def check_text(value: str, param_hint: str) -> None:
    """Refuse a command-line value that is not text: a NUL character, or bytes that are not UTF-8
    (they arrive as lone surrogates and could not be stored or printed)."""
    if "\x00" in value:
        raise click.BadParameter("holds a NUL character", param_hint=param_hint)
    for ch in value:
        if "\ud800" <= ch <= "\udfff":
            raise click.BadParameter("is not valid text: it holds bytes that are not UTF-8 (check the terminal's "
                                     "or the file name's encoding)", param_hint=param_hint)


def _check_params(click_ctx: click.Context) -> None:
    for param in click_ctx.command.params:
        value = click_ctx.params.get(param.name)
        values = value if isinstance(value, tuple | list) else (value,)
        for v in values:
            if isinstance(v, str):
                check_text(v, param.get_error_hint(click_ctx))


def common(fn):
    """--data-dir and --db on every command, and one-line errors instead of tracebacks: the
    archive's own errors, file-system errors (with the path and what to do) and database errors
    (without the values a statement carried) each become one sentence with exit 1; PermissionDenied
    exits 4; a parameter that is not text exits 2."""

    @click.option("--data-dir", type=click.Path(file_okay=False), envvar="WECOM_AUDITOR_DATA_DIR",
                  help="Keep settings, archive and media under DIR (default: the user data folder).")
    @click.option("--db", "db_url", metavar="URL", help="Database URL (sqlite:///file or mysql+pymysql://...).")
    @functools.wraps(fn)
    def wrapper(data_dir, db_url, **kwargs):
        click_ctx = click.get_current_context()
        _check_params(click_ctx)
        db_url = db_url or (click_ctx.obj or {}).get("db_url")
        try:
            ctx = AppContext(data_dir, db_url)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(describe_os_error(
                exc, data_dir, action="open the data folder", remedy="choose another with --data-dir DIR")) from None
        click_ctx.meta[_LOG_DIR_KEY] = ctx.paths.log_dir  # where the safety net writes a traceback
        click_ctx.meta[_COMMAND_KEY] = click_ctx.command_path
        try:
            return fn(ctx, **kwargs)
        except PermissionDenied as exc:
            raise NotPermitted(str(exc)) from None
        except (DatabaseError, SettingsError, SecretMissingError, SdkLoadError, SdkError, StorageError,
                AuthError, SearchIndexError, BuildError) as exc:
            raise click.ClickException(str(exc)) from None
        except QueryError as exc:  # commands that take a query catch it first, with the pointer
            raise click.ClickException(f"{exc.message} (at character {exc.position + 1})") from None
        except BrokenPipeError:
            raise  # the reader went away (`| head`): main() ends quietly
        except OSError as exc:  # without a file name (a full disk on write) it is most likely the data folder
            raise click.ClickException(describe_os_error(exc, ctx.paths.data_dir)) from None
        except (SQLAlchemyError, *DBAPI_ERRORS) as exc:
            log.warning("database error in %s: %s", click_ctx.command_path, _safe_message(exc))
            raise click.ClickException(describe_database_error(exc, _display_url(ctx))) from None
        finally:
            ctx.close()

    return wrapper


def _display_url(ctx: AppContext) -> str:
    """The archive's URL without its password, also when opening it is what failed."""
    from app.core.store.db import redact

    db = ctx.__dict__.get("db")
    if db is not None:
        return db.display_url
    try:
        return redact(ctx.db_url)
    except Exception:  # noqa: BLE001 — only for a message: the keyring or settings may be what failed
        return ""


# ------------------------------------------------------------------ the safety net

_LOG_DIR_KEY, _COMMAND_KEY = "wecom_auditor.log_dir", "wecom_auditor.command"
_EXPECTED = (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt, EOFError)
# Exception types whose messages Python composes from types and names, never from data.
_SAFE_MESSAGE_TYPES = (RecursionError, OverflowError, MemoryError, ZeroDivisionError, AttributeError, TypeError,
                       IndexError, NotImplementedError, ImportError)


def _safe_message(exc: BaseException) -> str:
    """An exception's message for the log, with nothing that may quote archive data: a database
    error without its parameters, a codec error without the text, a file error as errno and path;
    messages of other library exceptions are left out (their type and frames say where)."""
    if isinstance(exc, StatementError):
        orig = exc.orig
        if isinstance(orig, sqlite3.Error):
            detail = str(orig)
        elif orig is not None and orig.args and isinstance(orig.args[0], int):
            detail = f"MySQL error {orig.args[0]}"
        else:
            detail = type(orig).__name__ if orig is not None else ""
        statement = " ".join((exc.statement or "").split())[:300]
        return f"{type(orig).__name__ if orig is not None else ''} {detail} [SQL: {statement}]"
    if isinstance(exc, SQLAlchemyError):
        return "(message withheld)"
    if isinstance(exc, sqlite3.Error):
        return str(exc)  # fixed SQLite texts
    if isinstance(exc, pymysql.err.Error):
        return f"MySQL error {exc.args[0]}" if exc.args else ""
    if isinstance(exc, OSError):
        return f"[Errno {exc.errno}] {exc.strerror}: {_shown_path(exc.filename) if exc.filename else ''}"
    if isinstance(exc, UnicodeError):
        reason = getattr(exc, "reason", "")
        return f"{getattr(exc, 'encoding', '')} {reason} at {getattr(exc, 'start', '?')}-{getattr(exc, 'end', '?')}"
    if type(exc).__module__.startswith(("app.", "native.")) or isinstance(exc, _SAFE_MESSAGE_TYPES):
        return str(exc)[:500].encode("utf-8", "replace").decode("utf-8")
    return "(message withheld: it may quote archive data)"


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and its causes, with :func:`_safe_message` for each message."""
    parts: list[str] = []
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append("".join(traceback.format_tb(e.__traceback__)) + f"{type(e).__qualname__}: {_safe_message(e)}\n")
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    return "\nwhile handling (or caused by):\n".join(reversed(parts))


def _log_file(click_ctx: click.Context) -> tuple[Path | None, str]:
    """The log file for a traceback (configured if need be), or None and why not."""
    from app.core.config.paths import AppPaths
    from app.core.logs import configure_logging

    log_dir = click_ctx.meta.get(_LOG_DIR_KEY)
    try:
        if log_dir is None:
            log_dir = AppPaths.resolve(None).log_dir
        return configure_logging(Path(log_dir)), ""
    except (OSError, ValueError) as exc:
        return None, describe_os_error(exc) if isinstance(exc, OSError) else "the data folder is not valid"


def internal_error(click_ctx: click.Context, exc: BaseException) -> click.ClickException:
    """An unexpected exception as one sentence; its traceback (without message content) goes to the
    log file only."""
    path, why_not = _log_file(click_ctx)
    kind = type(exc).__name__
    if path is not None:
        # Appended here rather than through the logging handler, which would hide a failed write
        # (a full disk): the sentence must not point at a log that does not hold the details.
        command = click_ctx.meta.get(_COMMAND_KEY, click_ctx.command_path)
        entry = (f"{datetime.now():%Y-%m-%d %H:%M:%S} ERROR app.cli [MainThread] internal error in "
                 f"`{command}`:\n{safe_traceback(exc)}")
        try:
            with open(path, "a", encoding="utf-8", errors="replace") as f:
                f.write(entry)
            return click.ClickException(f"internal error ({kind}) in this command; the details are in the log "
                                        f"file {path} — please report it")
        except OSError as log_exc:
            why_not = describe_os_error(log_exc, path)
    return click.ClickException(f"internal error ({kind}) in this command, and no log could be written "
                                f"({why_not})")


class _Main(click.Group):
    """The ``wecom-auditor`` group: a command that fails unexpectedly ends with one sentence (exit
    1) instead of a traceback, and a closed output pipe (``| head``) ends quietly."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A NUL, or a surrogate that is not an undecodable byte, cannot come from a shell but reaches
        # click's own conversions (os.stat of a Path) from other callers: refuse it before any parsing,
        # naming the option it was given to. (Undecodable bytes are refused per parameter, by common.)
        for i, arg in enumerate(args):
            if not isinstance(arg, str):
                continue
            what = f"the value of {args[i - 1]}" if i and args[i - 1].startswith("-") else f"argument {i + 1}"
            if "\x00" in arg:
                raise click.UsageError(f"{what} holds a NUL character", ctx=ctx)
            try:
                os.fsencode(arg)
            except UnicodeEncodeError:
                raise click.UsageError(f"{what} is not valid text (it holds a lone UTF-16 surrogate)", ctx=ctx) from None
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except _EXPECTED:
            raise
        except BrokenPipeError:
            _quiet_broken_pipe()
        except Exception as exc:  # noqa: BLE001 — the last resort; the causes are fixed where found
            raise internal_error(ctx, exc) from None


def _quiet_broken_pipe() -> None:
    # Python would report the pipe again when it flushes stdout at exit: point stdout at /dev/null.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(EXIT_FAILED)


def _print_version(click_ctx: click.Context, _param, value: bool) -> None:
    if not value or click_ctx.resilient_parsing:
        return
    from app.version import version_report

    click.echo(version_report())
    click_ctx.exit()


@click.group(cls=_Main, invoke_without_command=True)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version, the commit it was built from, and the Qt and Python versions.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="As for every command (also before it).")
@click.option("--db", "db_url", metavar="URL", help="As for every command (also before it).")
@click.pass_context
def main(click_ctx: click.Context, data_dir: str | None, db_url: str | None) -> None:
    """WeCom Archive Auditor (会话存档审计台): archive and review WeCom chats.

    With no command, the desktop application opens.
    """
    logging.raiseExceptions = False  # a log file that cannot be written must not print tracebacks
    for value, hint in ((data_dir, "--data-dir"), (db_url, "--db")):
        if value is not None:
            check_text(value, hint)
    if data_dir:  # commands read it from the environment when not given after them
        os.environ["WECOM_AUDITOR_DATA_DIR"] = data_dir
    click_ctx.obj = {"db_url": db_url}
    if click_ctx.invoked_subcommand is None:
        from app.ui.app import run_gui

        sys.exit(run_gui(data_dir, db_url))


# ------------------------------------------------------------------ who is acting

def workstation() -> str:
    """This computer's name, as the audit trail records it."""
    try:
        return socket.gethostname()
    except OSError:
        return ""


def token_profile(ctx: AppContext) -> str:
    """The keyring name part of this data folder + archive's CLI token (a digest: paths and URLs
    never go into the keyring's entry names)."""
    archive = ctx.db.url.set(password=None).render_as_string(hide_password=False)
    return hashlib.sha256(f"{ctx.paths.data_dir}\n{archive}".encode()).hexdigest()[:32]


def interactive() -> bool:
    """True when a person can answer prompts (stdin and stderr are terminals)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def current_actor(ctx: AppContext) -> Actor:
    """The account this command acts as (resolved once per command, then cached on ``ctx``).

    In order: ``WECOM_AUDITOR_TOKEN``; the keyring token of this data folder and archive (an
    expired or revoked one is dropped); "no login" when the setting is on and the archive has a
    single enabled account; a user name + password prompt on a terminal. Raises
    AuthenticationError (one clear line, exit 1) when none applies — e.g. on an archive without
    accounts it says to run ``wecom-auditor accounts init``."""
    cached = ctx.__dict__.get("_cli_actor")
    if cached is not None:
        return cached
    actor = _resolve_actor(ctx)
    ctx.__dict__["_cli_actor"] = actor
    return actor


def _resolve_actor(ctx: AppContext) -> Actor:
    accounts, ws = ctx.accounts, workstation()
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return accounts.actor_from_token(token, ws)  # a token given explicitly must work: no fallback
    problem = None
    stored = ctx.secrets.cli_token(token_profile(ctx)) if keyring_available() else None
    if stored:
        try:
            return accounts.actor_from_token(stored, ws)
        except (TokenError, AuthenticationError) as exc:
            ctx.secrets.delete_cli_token(token_profile(ctx))
            problem = str(exc)
    if ctx.settings.no_login and accounts.no_login_allowed():
        return accounts.no_login_actor(ws)
    if accounts.needs_first_admin():
        raise AuthenticationError("this archive has no account yet: create the first administrator with "
                                  "`wecom-auditor accounts init` (or set up the demo with `wecom-auditor demo`)")
    if interactive():
        click.echo("Log in to the archive (or run `wecom-auditor login` once to stay logged in).", err=True)
        return prompt_login(ctx)
    raise AuthenticationError(problem or "not logged in: run `wecom-auditor login` (scripts: "
                                         "`wecom-auditor login --print-token` and set WECOM_AUDITOR_TOKEN)")


def read_secret_line(what: str) -> str:
    """One line from stdin (``--password-stdin``), without its line ending."""
    try:
        line = sys.stdin.readline()
    except UnicodeDecodeError:
        raise click.UsageError(f"--password-stdin: the {what} on standard input is not UTF-8 text") from None
    if not line:
        raise click.UsageError(f"--password-stdin: no {what} on standard input")
    return line.rstrip("\r\n")


def prompt_new_password(ctx: AppContext, username: str, label: str = "New password") -> str:
    """Ask for a new password twice, re-asking while it breaks the policy or the two differ."""
    from app.core.auth import PasswordPolicyError, check_password_policy

    while True:
        password = click.prompt(label, hide_input=True, confirmation_prompt=True, err=True)
        try:
            check_password_policy(password, username)
            return password
        except PasswordPolicyError as exc:
            click.echo(f"{exc}; try again.", err=True)


def prompt_login(ctx: AppContext, username: str | None = None) -> Actor:
    """User name and password from the terminal → the account's actor; an account that must
    change its password is asked for a new one first."""
    username = username or click.prompt("User name", err=True)
    password = click.prompt("Password", hide_input=True, err=True)
    actor = ctx.accounts.authenticate(username, password, workstation())
    if actor.must_change_password:
        click.echo("An administrator set this password: choose your own now.", err=True)
        actor = ctx.accounts.change_password(actor, password, prompt_new_password(ctx, actor.username))
    return actor
