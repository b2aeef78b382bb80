"""The command line's base: the ``wecom-auditor`` group, ``--data-dir``/``--db`` on every command
(``common``), and helpers the command modules share.

Every command takes ``--data-dir DIR`` and ``--db URL``. Errors print one clear line and exit 1;
a cancelled sync (Ctrl+C once) exits 3 after the current batch commits; an action the account may
not do exits 4 (``EXIT_NOT_PERMITTED``).

Who is acting: every command that reads or changes the archive gets its actor from
:func:`current_actor` — the token in ``WECOM_AUDITOR_TOKEN``, else the token ``wecom-auditor login``
kept in the keyring for this data folder and archive, else "no login" (setting ``no_login``, only
while the archive has a single account), else a password prompt on a terminal. An archive with no
account at all asks for ``wecom-auditor accounts init`` (or ``demo``) first.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import sys
from datetime import datetime

import click

from app.core.actor import Actor
from app.core.auth.errors import AuthenticationError, AuthError, PermissionDenied, TokenError
from app.core.config.secrets import SecretMissingError, keyring_available
from app.core.config.settings import SettingsError
from app.core.context import AppContext
from app.core.media.storage import StorageError
from app.core.sdk import SdkError, SdkLoadError
from app.core.store.db import DatabaseError

EXIT_FAILED, EXIT_CANCELLED, EXIT_NOT_PERMITTED = 1, 3, 4
TOKEN_ENV = "WECOM_AUDITOR_TOKEN"


class NotPermitted(click.ClickException):
    """PermissionDenied as a one-line message with exit code 4."""

    exit_code = EXIT_NOT_PERMITTED


def _ms_to_text(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S%z")


def _parse_date(value: str | None, *, end: bool = False) -> int | None:
    """A date or date-time in local time → ms. A bare end date includes that whole day."""
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            dt = datetime.strptime(value, fmt)
        except ValueError:
            continue
        ms = int(dt.astimezone().timestamp() * 1000)
        return ms + 86_400_000 if end and fmt == "%Y-%m-%d" else ms
    raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD or 'YYYY-MM-DD HH:MM'")


def common(fn):
    """--data-dir and --db on every command, and one-line errors instead of tracebacks."""

    @click.option("--data-dir", type=click.Path(file_okay=False), envvar="WECOM_AUDITOR_DATA_DIR",
                  help="Keep settings, archive and media under DIR (default: the user data folder).")
    @click.option("--db", "db_url", metavar="URL", help="Database URL (sqlite:///file or mysql+pymysql://...).")
    @functools.wraps(fn)
    def wrapper(data_dir, db_url, **kwargs):
        db_url = db_url or (click.get_current_context().obj or {}).get("db_url")
        try:
            ctx = AppContext(data_dir, db_url)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            return fn(ctx, **kwargs)
        except PermissionDenied as exc:
            raise NotPermitted(str(exc)) from None
        except (DatabaseError, SettingsError, SecretMissingError, SdkLoadError, SdkError, StorageError,
                FileNotFoundError, AuthError) as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            ctx.close()

    return wrapper


@click.group(invoke_without_command=True)
@click.version_option(package_name="wecom-archive-auditor")
@click.option("--data-dir", type=click.Path(file_okay=False), help="As for every command (also before it).")
@click.option("--db", "db_url", metavar="URL", help="As for every command (also before it).")
@click.pass_context
def main(click_ctx: click.Context, data_dir: str | None, db_url: str | None) -> None:
    """WeCom Archive Auditor (会话存档审计台): archive and review WeCom chats.

    With no command, the desktop application opens.
    """
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
    line = sys.stdin.readline()
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
