"""The command line's base: the ``wecom-auditor`` group, ``--data-dir``/``--db`` on every command
(``common``), and helpers the command modules share.

Every command takes ``--data-dir DIR`` and ``--db URL``. Errors print one clear line and exit 1;
a cancelled sync (Ctrl+C once) exits 3 after the current batch commits.
"""

from __future__ import annotations

import functools
import os
import sys
from datetime import datetime

import click

from app.core.config.secrets import SecretMissingError
from app.core.config.settings import SettingsError
from app.core.context import AppContext
from app.core.sdk import SdkError, SdkLoadError
from app.core.store.db import DatabaseError

EXIT_FAILED, EXIT_CANCELLED = 1, 3


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
        except (DatabaseError, SettingsError, SecretMissingError, SdkLoadError, SdkError,
                FileNotFoundError) as exc:
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
