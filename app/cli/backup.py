"""Commands for backup and restore: ``backup --to PATH``, ``backup verify PATH``, ``restore PATH``."""

from __future__ import annotations

import json
import os

import click

from app.core.backup import BackupError, make_backup, restore_backup, verify_backup
from app.core.context import AppContext
from app.core.export.signing import ExportKeyError

from .base import common, current_actor, main


def _progress(quiet: bool):
    if quiet:
        return None
    last: dict[str, str | None] = {"phase": None}

    def report(phase: str, done: int, total: int) -> None:
        if phase != last["phase"]:
            last["phase"] = phase
            click.echo(f"… {phase}", err=True)

    return report


@main.group(invoke_without_command=True)
@click.option("--to", "repo", type=click.Path(file_okay=False), help="The backup folder (created if missing).")
@click.option("--full", is_flag=True, help="Copy every media file and start a new chain of backups.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="WECOM_AUDITOR_DATA_DIR",
              help="Keep settings, archive and media under DIR (default: the user data folder).")
@click.option("--db", "db_url", metavar="URL", help="Database URL (sqlite:///file or mysql+pymysql://...).")
@click.pass_context
def backup(click_ctx: click.Context, repo, full, as_json, data_dir, db_url) -> None:
    """Back up the archive: a consistent copy of the database, the media files no earlier backup in
    PATH holds, the settings (no secrets) and a signed manifest.

    \b
    wecom-auditor backup --to PATH [--full] [--json]
    wecom-auditor backup verify PATH [--backup ID]
    wecom-auditor restore PATH --data-dir NEW [--db URL]
    """
    if db_url:
        click_ctx.ensure_object(dict)["db_url"] = db_url
    if click_ctx.invoked_subcommand is not None:
        if data_dir:
            os.environ["WECOM_AUDITOR_DATA_DIR"] = data_dir
        return
    if not repo:
        raise click.UsageError("give the backup folder: wecom-auditor backup --to PATH")
    _backup(data_dir=data_dir, db_url=db_url, repo=repo, full=full, as_json=as_json)


@common
def _backup(ctx: AppContext, repo: str, full: bool, as_json: bool) -> None:
    actor = current_actor(ctx)
    try:
        r = make_backup(ctx, actor, repo, full=full, progress=_progress(as_json))
    except (BackupError, ExportKeyError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"backup_id": r.backup_id, "path": str(r.path), "previous": r.previous,
                               "messages": r.messages, "media_added": r.media_added,
                               "media_added_bytes": r.media_added_bytes, "media_problems": r.media_problems,
                               "manifest_sha256": r.manifest_sha256, "audit_head": r.audit_head}, ensure_ascii=False))
        return
    kind = f"continues {r.previous}" if r.previous else "full"
    click.echo(f"Backup {r.backup_id} written to {r.path} ({kind}): {r.messages} messages, {r.media_added} new media "
               f"file(s), audit chain head {r.audit_head}.")
    for p in r.media_problems[:20]:
        click.echo(f"  media not backed up: {p}", err=True)


@backup.command("verify")
@click.argument("repo", type=click.Path(file_okay=False, exists=True))
@click.option("--backup", "backup_id", metavar="ID", help="Which backup (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@common
def backup_verify(ctx: AppContext, repo: str, backup_id: str | None, as_json: bool) -> None:
    """Check a backup and every backup it continues, without restoring: signatures, files, media,
    every message's SHA-256 and the audit chain. Exit 0 only if intact."""
    try:
        report = verify_backup(repo, backup_id)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "backup_id": report.backup_id, "chain": report.chain,
                               "messages": report.messages, "media_files": report.media_files,
                               "audit_entries": report.audit_entries, "key_fingerprints": report.key_fingerprints,
                               "problems": report.problems}, ensure_ascii=False))
    else:
        click.echo(report.summary())
        for p in report.problems[1:]:
            click.echo(f"  {p}")
    if not report.ok:
        raise SystemExit(1)


@main.command()
@click.argument("repo", type=click.Path(file_okay=False, exists=True))
@click.option("--backup", "backup_id", metavar="ID", help="Which backup (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@common
def restore(ctx: AppContext, repo: str, backup_id: str | None, as_json: bool) -> None:
    """Restore a backup into an empty data folder (--data-dir) and an empty database (--db; default:
    SQLite in the data folder), then verify every message, media file and the audit chain.

    An interrupted restore is finished by running the same command again."""
    db_url = click.get_current_context().params.get("db_url") or (click.get_current_context().obj or {}).get("db_url")
    try:
        r = restore_backup(repo, backup_id, data_dir=ctx.paths.data_dir, db_url=ctx._db_url_override or db_url,
                           progress=_progress(as_json))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"backup_id": r.backup_id, "data_dir": str(r.data_dir), "database": r.db_url,
                               "messages": r.messages, "media_files": r.media_files,
                               "audit_entries": r.audit_entries}, ensure_ascii=False))
        return
    click.echo(f"Restored backup {r.backup_id} into {r.data_dir} ({r.db_url}) and verified it: {r.messages} messages, "
               f"{r.media_files} media files, audit trail of {r.audit_entries} entries intact. The search index is "
               f"rebuilt at the first search (or: wecom-auditor reindex).")
