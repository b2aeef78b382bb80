"""Commands for evidence packages: export, verify."""

from __future__ import annotations

import os
import sys

import click

from app.core.context import AppContext
from app.core.safe_text import display_name

from .base import EXIT_FAILED, Hours, _ms_to_text, _parse_date, common, current_actor, describe_os_error, main


@main.command()
@click.option("--out", "out_path", required=True, type=click.Path(),
              help="The package to create: a folder, or a single zip file if PATH ends in .zip.")
@click.option("--session", "session_ids", multiple=True, metavar="ID", help="Export this conversation (repeatable).")
@click.option("--query", "query_text", metavar="Q", help="Export the hits of this search, with their context.")
@click.option("--msgid", "msgids", multiple=True, metavar="ID", help="Export this message with its context (repeatable).")
@click.option("--from", "date_from", metavar="DATE", help="From this date (local time).")
@click.option("--to", "date_to", metavar="DATE", help="Up to and including this date.")
@click.option("--context", "context_hours", type=Hours(), metavar="HOURS",
              help="Hours of conversation around each hit or message (default 12, at most a year).")
@click.option("--no-pdf", is_flag=True, help="Leave out the PDF transcripts (faster; bag-info.txt says so).")
@click.option("--no-review", is_flag=True,
              help="Leave out reviewers' tags, statuses, notes and alerts (custody.json says so).")
@common
def export(ctx: AppContext, out_path, session_ids, query_text, msgids, date_from, date_to, context_hours,
           no_pdf: bool, no_review: bool) -> None:
    """Write a signed evidence package (a BagIt bag, as a folder or a .zip) of conversations, search hits
    or messages: the original JSON and media, HTML and PDF transcripts, a CSV load file, a custody
    record, manifests and an Ed25519 signature. Check it later with `wecom-auditor verify PATH`."""
    from tqdm import tqdm

    from app.core.export import ExportError, Selection, describe_counts, export_package
    from app.core.export.signing import export_key_passphrase
    from app.core.search import QueryError

    if sum(bool(x) for x in (session_ids, query_text, msgids)) != 1:
        raise click.UsageError("give --session ID ..., --query Q or --msgid ID ... (exactly one kind)")
    selection = Selection(session_ids=tuple(session_ids), query=query_text, msgids=tuple(msgids),
                          start_ms=_parse_date(date_from), end_ms=_parse_date(date_to, end=True),
                          context_hours=context_hours)
    bar = tqdm(desc="exporting", unit="step", file=sys.stderr, dynamic_ncols=True, disable=not sys.stderr.isatty())

    def progress(done: int, total: int | None) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        with export_key_passphrase(ask_export_key_passphrase):
            result = export_package(ctx, current_actor(ctx), selection, out_path, progress=progress, pdf=not no_pdf,
                                    review=not no_review)
    except QueryError as exc:
        click.echo(exc.terminal_pointer(), err=True)
        raise click.ClickException(exc.message + f" (at character {exc.position + 1})") from None
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        # The package is built in a hidden folder beside its destination: name the destination's
        # folder rather than that temporary name.
        folder = os.path.dirname(os.path.abspath(out_path))
        raise click.ClickException(describe_os_error(_in_folder(exc, folder), folder, action="write the package",
                                                     remedy="choose another place with --out")) from None
    finally:
        bar.close()
    c = result.counts
    click.echo(f"Package: {result.path}")
    click.echo(f"Package fingerprint: {result.fingerprint}")
    click.echo(f"Signing key fingerprint: {result.key_fingerprint}")
    click.echo(describe_counts(c))


def _in_folder(exc: OSError, folder: str) -> OSError:
    """``exc`` naming ``folder`` instead of a file in the export's hidden staging folder inside it
    (``.NAME.export-…``), which the user never chose and which is gone afterwards."""
    name = os.fsdecode(exc.filename) if exc.filename is not None else ""
    if not name or (name.startswith(folder) and ".export-" in name):
        return OSError(exc.errno, exc.strerror, folder)
    return exc


@main.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--any-key", is_flag=True, help="Do not require the signing key to be one of this archive's.")
@common
def verify(ctx: AppContext, path: str, any_key: bool) -> None:
    """Check an evidence package (a folder or a .zip); exit 0 only if every file, the fingerprint, the
    signature and the key are right. The check is recorded in the audit trail."""
    from tqdm import tqdm

    from app.core.export import export_records, verify_recorded

    bar = tqdm(desc="verifying", unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, dynamic_ncols=True,
               disable=not sys.stderr.isatty())

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        report = verify_recorded(ctx.db, current_actor(ctx), path, any_key=any_key, progress=progress)
    finally:
        bar.close()
    for problem in report.problems:
        click.echo(problem)
    if report.fingerprint and not any_key:
        records = export_records(ctx.db, fingerprint=report.fingerprint, limit=1)
        if records:
            r = records[0]
            click.echo(f"Recorded in this archive: exported by {display_name(r['actor'])} on "
                       f"{display_name(r['workstation'])} at "
                       f"{_ms_to_text(r['created_at'])}.")
    if not report.ok:
        click.echo(f"FAILED: {len(report.problems)} problem(s) in {display_name(path)}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"OK: {report.files_checked} file(s) match; fingerprint {report.fingerprint}; "
               f"signed by key {report.key_fingerprint}.")


def ask_export_key_passphrase(new: bool) -> str | None:
    """The export signing key's passphrase, asked on the terminal (without echo) when this computer
    has no keyring; None without a terminal (then WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE must give it).
    ``new``: the user chooses one now (asked twice, re-asked while too weak)."""
    from app.core.export.signing import PASSPHRASE_ENV, ExportKeyError, check_new_passphrase

    from .base import interactive

    if not interactive():
        return None
    if not new:
        return click.prompt("Passphrase of the export signing key", hide_input=True, err=True)
    click.echo("This computer has no OS keyring: the export signing key is kept encrypted under a passphrase "
               f"you choose now, asked for at each export (scripts: set {PASSPHRASE_ENV}).", err=True)
    while True:
        value = click.prompt("New passphrase for the export signing key", hide_input=True,
                             confirmation_prompt=True, err=True)
        try:
            check_new_passphrase(value)
            return value
        except ExportKeyError as exc:
            click.echo(f"{exc}; try again.", err=True)
