"""Commands for retention policies, deletion runs and legal holds: ``retention …`` and ``hold …``."""

from __future__ import annotations

import json

import click

from app.core.context import AppContext
from app.core.retention import BASES, CLASSES, RetentionError, RetentionService

from .base import _ms_to_text, _parse_date, common, current_actor, main

MAX_ID = click.IntRange(1, 2**63 - 1)


def _service(ctx: AppContext) -> RetentionService:
    return RetentionService(ctx.db, ctx.trail, storage_for=ctx.storage_for, search=ctx.search)


def _fail(exc: Exception):
    raise click.ClickException(str(exc)) from None


def _corp_id(ctx, actor, corpid: str | None) -> int | None:
    if corpid is None:
        return None
    cid = ctx.archive.corp_id(actor, corpid)
    if cid is None:
        raise click.ClickException(f"corp {corpid!r} is not in this archive")
    return cid


@main.group()
def retention() -> None:
    """Retention policies and deletion under them (administrators).

    \b
    wecom-auditor retention add NAME --keep-days N [--class external] [--basis last_activity]
    wecom-auditor retention list | disable ID
    wecom-auditor retention plan               what is due now and not held (recorded)
    wecom-auditor retention approve RUN        another administrator approves
    wecom-auditor retention run RUN            delete what the approved run planned
    wecom-auditor retention runs
    """


@retention.command("add")
@click.argument("name")
@click.option("--keep-days", type=click.IntRange(1, 36600), required=True, help="How long to keep the messages.")
@click.option("--class", "message_class", type=click.Choice(CLASSES), default="all", show_default=True)
@click.option("--basis", type=click.Choice(BASES), default="message", show_default=True,
              help="Count from each message, or from the conversation's last message.")
@click.option("--corp", "corpid", help="Only this corp (default: every corp).")
@common
def retention_add(ctx: AppContext, name, keep_days, message_class, basis, corpid) -> None:
    """Add a retention policy."""
    actor = current_actor(ctx)
    try:
        p = _service(ctx).add_policy(actor, name, keep_days, message_class=message_class, basis=basis,
                                     corp_id=_corp_id(ctx, actor, corpid))
    except RetentionError as exc:
        _fail(exc)
    click.echo(f"Policy {p.id} added: {p.describe()}.")


@retention.command("list")
@click.option("--all", "include_disabled", is_flag=True, help="Also disabled policies.")
@click.option("--json", "as_json", is_flag=True)
@common
def retention_list(ctx: AppContext, include_disabled, as_json) -> None:
    """The retention policies."""
    rows = _service(ctx).policies(current_actor(ctx), include_disabled=include_disabled)
    for p in rows:
        if as_json:
            click.echo(json.dumps(p.__dict__, ensure_ascii=False))
        else:
            state = f" (disabled {_ms_to_text(p.disabled_at)})" if p.disabled_at else ""
            click.echo(f"{p.id}  {p.describe()}{state}")


@retention.command("disable")
@click.argument("policy_id", type=MAX_ID)
@common
def retention_disable(ctx: AppContext, policy_id) -> None:
    """Disable a policy (it stays on record)."""
    try:
        p = _service(ctx).disable_policy(current_actor(ctx), policy_id)
    except RetentionError as exc:
        _fail(exc)
    click.echo(f"Policy {p.id} disabled.")


@retention.command("plan")
@click.option("--json", "as_json", is_flag=True)
@common
def retention_plan(ctx: AppContext, as_json) -> None:
    """List what is due now and not held, as a deletion run awaiting approval."""
    run = _service(ctx).plan(current_actor(ctx))
    if as_json:
        click.echo(json.dumps(run.__dict__))
        return
    click.echo(f"Run {run.id}: {run.due_count} message(s) due, {run.held_count} more due but held; digest {run.digest}. "
               f"Another administrator approves it with `wecom-auditor retention approve {run.id}`.")


@retention.command("approve")
@click.argument("run_id", type=MAX_ID)
@common
def retention_approve(ctx: AppContext, run_id) -> None:
    """Approve a planned deletion run."""
    try:
        run = _service(ctx).approve(current_actor(ctx), run_id)
    except RetentionError as exc:
        _fail(exc)
    click.echo(f"Run {run.id} approved: {run.due_count} message(s). Delete them with "
               f"`wecom-auditor retention run {run.id}`.")


@retention.command("run")
@click.argument("run_id", type=MAX_ID)
@common
def retention_run(ctx: AppContext, run_id) -> None:
    """Delete what an approved run planned that is still due and not held now."""
    try:
        run = _service(ctx).execute(current_actor(ctx), run_id)
    except RetentionError as exc:
        _fail(exc)
    click.echo(f"Run {run.id} {run.status}: {run.deleted_count} of {run.due_count} planned message(s) deleted "
               f"(held ones kept); each batch is in the audit trail with its digest.")


@retention.command("runs")
@click.option("--json", "as_json", is_flag=True)
@common
def retention_runs(ctx: AppContext, as_json) -> None:
    """The deletion runs, newest first."""
    for r in _service(ctx).runs(current_actor(ctx)):
        if as_json:
            click.echo(json.dumps(r.__dict__))
        else:
            click.echo(f"{r.id}  {r.status:<9} planned {_ms_to_text(r.created_at)} by {r.created_by}: "
                       f"{r.due_count} due, {r.held_count} held, {r.deleted_count} deleted")


@main.group()
def hold() -> None:
    """Legal holds: held messages are never deleted.

    \b
    wecom-auditor hold place NAME --reason TEXT [--custodian USERID]… [--session ID]… [--query Q] [--from D] [--to D]
    wecom-auditor hold list [--all] | release ID --reason TEXT
    wecom-auditor hold export ID --out PATH     an evidence package of what the hold covers
    """


@hold.command("place")
@click.argument("name")
@click.option("--reason", required=True, help="The matter the hold preserves evidence for.")
@click.option("--custodian", "custodians", multiple=True, help="A staff userid (repeatable).")
@click.option("--session", "sessions", multiple=True, help="A session id (repeatable).")
@click.option("--query", help="A search query (the search language).")
@click.option("--from", "date_from", help="From this date (YYYY-MM-DD[ HH:MM], local time).")
@click.option("--to", "date_to", help="Up to and including this date.")
@click.option("--corp", "corpid", help="Only this corp.")
@common
def hold_place(ctx: AppContext, name, reason, custodians, sessions, query, date_from, date_to, corpid) -> None:
    """Place a legal hold (criteria given all apply)."""
    actor = current_actor(ctx)
    try:
        h = _service(ctx).place_hold(actor, name, reason, userids=custodians, session_ids=sessions, query=query,
                                     start_ms=_parse_date(date_from), end_ms=_parse_date(date_to, end=True),
                                     corp_id=_corp_id(ctx, actor, corpid))
    except RetentionError as exc:
        _fail(exc)
    click.echo(f"Hold {h.id} placed: {h.name}.")


@hold.command("list")
@click.option("--all", "include_released", is_flag=True, help="Also released holds.")
@click.option("--json", "as_json", is_flag=True)
@common
def hold_list(ctx: AppContext, include_released, as_json) -> None:
    """The legal holds."""
    for h in _service(ctx).holds(current_actor(ctx), include_released=include_released):
        if as_json:
            click.echo(json.dumps(h.__dict__, ensure_ascii=False))
            continue
        what = "; ".join(x for x in (
            h.userids and "custodians " + ", ".join(h.userids), h.session_ids and f"{len(h.session_ids)} session(s)",
            h.query and f"query {h.query!r}", (h.start_ms or h.end_ms) and
            f"{_ms_to_text(h.start_ms) if h.start_ms else '…'} to {_ms_to_text(h.end_ms) if h.end_ms else '…'}") if x)
        state = f" — released {_ms_to_text(h.released_at)} by {h.released_by}" if h.released_at else ""
        click.echo(f"{h.id}  {h.name}: {what}{state}")


@hold.command("release")
@click.argument("hold_id", type=MAX_ID)
@click.option("--reason", required=True)
@common
def hold_release(ctx: AppContext, hold_id, reason) -> None:
    """Release a legal hold (it stays on record)."""
    try:
        h = _service(ctx).release_hold(current_actor(ctx), hold_id, reason)
    except RetentionError as exc:
        _fail(exc)
    click.echo(f"Hold {h.id} released.")


@hold.command("export")
@click.argument("hold_id", type=MAX_ID)
@click.option("--out", required=True, type=click.Path(), help="The package folder, or a .zip file.")
@click.option("--no-pdf", is_flag=True, help="Leave out the PDF transcripts.")
@common
def hold_export(ctx: AppContext, hold_id, out, no_pdf) -> None:
    """Write an evidence package of every message the hold covers."""
    from app.core.export.package import ExportError, describe_counts, export_package

    actor = current_actor(ctx)
    try:
        selection = _service(ctx).hold_selection(actor, hold_id)
        result = export_package(ctx, actor, selection, out, pdf=not no_pdf, description=f"Legal hold {hold_id}")
    except (RetentionError, ExportError) as exc:
        _fail(exc)
    click.echo(f"Package written to {result.path}: {describe_counts(result.counts)} Fingerprint {result.fingerprint}.")
