"""Commands for media storage: ``media status``, ``media migrate --to <backend>``, ``media verify``
(the backends are those registered in app/core/media/registry.py)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from dataclasses import replace

import click

from app.core.context import AppContext
from app.core.media.registry import backend_names
from app.core.media.storage import StorageError

from .base import EXIT_CANCELLED, EXIT_FAILED, common, current_actor, main


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _where(ctx: AppContext, backend: str) -> str:
    return ctx.settings.storage[backend].describe(ctx.paths)


class _Cancel:
    """Ctrl+C once: stop after the current object (exit 3); twice: stop now."""

    def __init__(self):
        self.event = threading.Event()
        self.previous = None

    def __enter__(self):
        def on_sigint(signum, frame):
            if self.event.is_set():
                raise KeyboardInterrupt
            self.event.set()
            click.echo("\nStopping after the current object… (Ctrl+C again to abort)", err=True)

        self.previous = signal.signal(signal.SIGINT, on_sigint)
        return self

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.previous)


def _bar(desc: str, total: int):
    from tqdm import tqdm

    return tqdm(desc=desc, total=total, unit="row", file=sys.stderr, dynamic_ncols=True,
                disable=not sys.stderr.isatty())


@main.group()
def media() -> None:
    """Media storage: what is stored where, moving it to another backend, checking it."""


@media.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@common
def status(ctx: AppContext, as_json: bool) -> None:
    """Media rows per storage backend and status, with the bytes stored."""
    from app.core.auth import ARCHIVE_STATUS, require
    from app.core.media.migrate import media_status

    actor = current_actor(ctx)
    require(actor, ARCHIVE_STATUS)
    rows = media_status(actor, ctx.db)
    current = ctx.settings.storage.backend
    if as_json:
        click.echo(json.dumps({"backend_in_use": current, "rows": [
            {"backend": b, "status": s, "count": n, "bytes": size} for b, s, n, size in rows]}))
        return
    click.echo(f"In use: {current} ({_where(ctx, current)})")
    if not rows:
        click.echo("No media yet.")
        return
    click.echo(f"{'backend':<8} {'status':<8} {'files':>9} {'stored':>10}")
    for backend, state, n, size in rows:
        click.echo(f"{backend:<8} {state:<8} {n:>9} {(_size(size) if size else '-'):>10}")
    elsewhere = sum(n for b, s, n, _ in rows if s == "stored" and b not in (current, "-"))
    if elsewhere:
        click.echo(f"{elsewhere} stored file(s) are not in {current}: `wecom-auditor media migrate --to {current}` "
                   "moves them.")


@media.command("migrate")
@click.option("--to", "target_name", type=click.Choice(backend_names()), required=True,
              help="The backend to move the media to (configured in Settings or the settings file).")
@click.option("--dry-run", is_flag=True, help="Only count what would move, and check the target can be reached.")
@common
def migrate(ctx: AppContext, target_name: str, dry_run: bool) -> None:
    """Copy every stored media file to another backend, verify it there, and switch to it.

    Each object is checked against its SHA-256 while it is read and again by reading the copy back;
    only then does its media row point at the new backend. A second run continues where one stopped.
    The settings switch to the new backend once every file is there; the old copies are left in place.
    """
    from app.core.auth import SETTINGS_CHANGE, Action
    from app.core.media.migrate import migrate_media

    actor = current_actor(ctx)  # moving the media and switching the backend is a settings change
    ctx.trail.require(actor, SETTINGS_CHANGE, action=Action.SETTINGS_CHANGE, object_type="setting",
                      object=f"storage.backend: migrate to {target_name}")
    try:
        target = ctx.storage_for(target_name)
        if dry_run:
            target.exists(".wecom-auditor-probe/dry-run")  # credentials and bucket, read-only
            report = migrate_media(actor, ctx.db, target, ctx.storage_for, dry_run=True)
            where = ", ".join(f"{n} from {b}" for b, n in sorted(report.by_backend.items())) or "none"
            click.echo(f"Target: {_where(ctx, target_name)} (reachable).")
            click.echo(f"Would move {report.total_rows} media row(s), {_size(report.remaining_bytes)} ({where}).")
            return
        with _Cancel() as cancel:
            bar = _bar(f"to {target_name}", 0)

            def progress(p) -> None:
                bar.total = p.total
                bar.update(p.done - bar.n)
                bar.set_postfix_str(f"{p.objects} files, {_size(p.bytes)}", refresh=False)

            try:
                report = migrate_media(actor, ctx.db, target, ctx.storage_for, progress=progress,
                                       cancel=cancel.event.is_set)
            finally:
                bar.close()
    except StorageError as exc:
        raise click.ClickException(f"migration stopped: {exc}. Nothing is lost: run the command again "
                                   "to continue.") from None
    except KeyboardInterrupt:
        click.echo("Aborted. Nothing is lost: run the command again to continue.", err=True)
        sys.exit(EXIT_CANCELLED)
    click.echo(f"Copied and verified {report.objects_copied} file(s) ({_size(report.bytes_copied)}); "
               f"{report.objects_already} already on {target_name}; {report.rows_moved} media row(s) now on "
               f"{target_name}.")
    for key, reason in report.failures:
        click.echo(f"FAILED {key}: {reason}", err=True)
    if report.cancelled:
        click.echo(f"Stopped: {report.remaining_rows} row(s) still to move; run the command again to continue.",
                   err=True)
        sys.exit(EXIT_CANCELLED)
    if not report.complete:
        click.echo(f"{report.failed_objects} file(s) could not be moved; {report.remaining_rows} row(s) remain "
                   f"elsewhere. The settings still use {ctx.settings.storage.backend}.", err=True)
        sys.exit(EXIT_FAILED)
    if ctx.settings.storage.backend != target_name:
        ctx.change_settings(actor, storage=replace(ctx.settings.storage, backend=target_name))
        click.echo(f"All media is on {target_name}: the settings now use it ({_where(ctx, target_name)}). "
                   "The old copies were left where they were.")
    else:
        click.echo(f"All media is on {target_name}.")


@media.command("verify")
@click.option("--backend", type=click.Choice(backend_names()), help="Only the objects in this backend.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@common
def verify(ctx: AppContext, backend: str | None, as_json: bool) -> None:
    """Read every stored media file back and compare it with its SHA-256; exit 1 on any problem."""
    from app.core.auth import ARCHIVE_STATUS, require
    from app.core.media.migrate import verify_media

    actor = current_actor(ctx)
    require(actor, ARCHIVE_STATUS)
    with _Cancel() as cancel:
        bar = _bar("verifying", 0)

        def progress(p) -> None:
            bar.total = p.total
            bar.update(p.done - bar.n)

        try:
            report = verify_media(actor, ctx.db, ctx.storage_for, backend=backend, progress=progress,
                                  cancel=cancel.event.is_set)
        except StorageError as exc:
            raise click.ClickException(f"verification stopped: {exc}") from None
        finally:
            bar.close()
    if as_json:
        click.echo(json.dumps({"checked": report.checked_objects, "ok": report.ok, "missing": report.missing,
                               "mismatched": report.mismatched, "errors": [list(e) for e in report.errors],
                               "problems": report.problems, "cancelled": report.cancelled}, ensure_ascii=False))
    else:
        for item in report.missing:
            click.echo(f"MISSING {item}")
        for item in report.mismatched:
            click.echo(f"DIFFERENT {item} (does not match its SHA-256)")
        for item, reason in report.errors:
            click.echo(f"ERROR {item}: {reason}")
        click.echo(f"Checked {report.checked_objects} file(s): {report.ok} intact, {report.problems} problem(s)"
                   + (" (stopped early)" if report.cancelled else "") + ".")
    if report.cancelled:
        sys.exit(EXIT_CANCELLED)
    if report.problems:
        sys.exit(EXIT_FAILED)
