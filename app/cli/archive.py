"""Commands on the archive: demo, sync, sessions, messages, quarantine, import-names, runs, gui."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import TYPE_CHECKING, NoReturn

import click

from app.core.auth.errors import PermissionDenied
from app.core.context import AppContext
from app.core.place import archive_place
from app.core.safe_text import display_name, display_text, json_line

if TYPE_CHECKING:
    from tqdm import tqdm

from .base import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_NOT_PERMITTED,
    LIMIT,
    MAX_DEMO_MESSAGES,
    MAX_LIMIT,
    _ms_to_text,
    _parse_date,
    common,
    current_actor,
    describe_os_error,
    main,
)


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="WECOM_AUDITOR_DATA_DIR")
@click.option("--db", "db_url", metavar="URL")
def gui(data_dir: str | None, db_url: str | None) -> None:
    """Open the desktop application (the same as giving no command)."""
    from app.ui.app import run_gui

    sys.exit(run_gui(data_dir, db_url or (click.get_current_context().obj or {}).get("db_url")))


@main.command()
@click.option("--corpus", type=click.Path(file_okay=False, exists=True), help="Serve this simulator corpus.")
@click.option("--messages", type=click.IntRange(1, MAX_DEMO_MESSAGES),
              help="Generate a demo corpus of N messages instead.")
@common
def demo(ctx: AppContext, corpus: str | None, messages: int | None) -> None:
    """Set up a profile whose SDK is the simulator serving a (demo) corpus, ready to sync.

    On an archive without accounts it creates the account "demo" (every role) with a random
    password shown once, and turns on "no login": while it is the archive's only account, the
    commands and the window open without asking. Otherwise it needs an administrator's login."""
    if corpus and messages:
        raise click.UsageError("give --corpus or --messages, not both")
    actor = None if ctx.accounts.needs_first_admin() else current_actor(ctx)
    click.echo("Preparing the demo corpus…" if not corpus else f"Using the corpus {corpus}")
    try:
        corp, where = ctx.setup_demo(corpus, messages, actor=actor)
    finally:
        login = ctx.demo_login
        if login is not None:  # shown even if a later step failed: it is the only way in then
            click.echo(f"Created the demo account '{login.username}' with every role; its password (shown once): "
                       f"{login.password}")
            click.echo("This workstation opens without a login while it is the archive's only account "
                       "(`wecom-auditor accounts no-login off` to always ask).")
    click.echo(f"Demo corp {corp.corpid} is configured (SDK simulator, corpus {corp.simulator_corpus}).")
    click.echo(f"Its secret and private keys are read from {where}.")
    click.echo(f"Archive: {archive_place(ctx.db)}")
    click.echo("Next: wecom-auditor sync")


class _ProgressBar:
    """tqdm bars on stderr for the two phases of a sync."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar: tqdm[NoReturn] | None = None
        self.phase: str | None = None

    def __call__(self, p) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if p.phase != self.phase:
            self.close()
            self.phase = p.phase
            if p.phase == "messages":
                self.bar = tqdm(desc="messages", unit="msg", file=sys.stderr, dynamic_ncols=True)
            elif p.phase == "media":
                self.bar = tqdm(desc="media", unit="file", total=p.media_total, file=sys.stderr,
                                dynamic_ncols=True)
        if self.bar is None:
            return
        done = p.fetched if p.phase == "messages" else p.media_done
        self.bar.update(done - self.bar.n)
        post = ({"seq": p.seq, "stored": p.stored, "quarantined": p.quarantined} if p.phase == "messages"
                else {"stored": p.media_stored, "failed": p.media_failed, "expired": p.media_expired})
        if p.eta_seconds is not None and p.phase == "messages":
            post["eta"] = f"{p.eta_seconds:.0f}s"
        self.bar.set_postfix(post, refresh=False)
        if p.note:
            self.bar.write(p.note)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@main.command()
@click.option("--corp", "corpid", help="Corp id to sync (default: the first configured).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the outcome and counts.")
@click.option("--no-media", is_flag=True, help="Do not download media in this run.")
@click.option("--workers", type=click.IntRange(1, 64), help="Decrypt processes (default: one per core).")
@common
def sync(ctx: AppContext, corpid: str | None, as_json: bool, no_media: bool, workers: int | None) -> None:
    """Fetch new archive entries and media until WeCom has no more.

    With --json, exactly one JSON object is printed whatever the outcome (succeeded, cancelled,
    failed): outcome, error (one sentence, or null) and the counts."""
    from app.core.sync.failures import describe_failure
    from app.core.sync.pipeline import SyncReport

    cancel = threading.Event()

    def on_sigint(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        click.echo("\nCancelling after the current batch… (Ctrl+C again to abort)", err=True)

    previous = signal.signal(signal.SIGINT, on_sigint)
    bar = _ProgressBar(enabled=sys.stderr.isatty() or not as_json)
    syncer = None
    try:
        actor = current_actor(ctx)
        corp = ctx.settings.corp(corpid)
        syncer = ctx.make_syncer(corp, media=not no_media, workers=workers, actor=actor)
        report = syncer.run(progress=bar, cancel=cancel.is_set)
    except (click.exceptions.Abort, click.exceptions.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:  # every failure: one sentence (and with --json, one object)
        bar.close()
        if isinstance(exc, click.ClickException):
            message, code = exc.format_message(), exc.exit_code
        else:
            message = describe_failure(exc)[0]
            code = EXIT_NOT_PERMITTED if isinstance(exc, PermissionDenied) else EXIT_FAILED
        if as_json:
            failed = getattr(syncer, "report", None) or SyncReport(run_id=0, outcome="failed")
            failed.outcome, failed.error = "failed", message
            click.echo(json.dumps(failed.to_dict(), ensure_ascii=False))
        click.echo(f"Error: {message}", err=True)
        sys.exit(code)
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        click.echo(f"Sync {report.outcome} in {report.seconds:.1f}s: fetched {report.fetched}, stored "
                   f"{report.stored}, duplicates {report.duplicates}, quarantined {report.quarantined}; media "
                   f"stored {report.media_stored}, failed {report.media_failed}, expired {report.media_expired}, "
                   f"pending {report.media_pending}; last seq {report.last_seq}.")
    if report.outcome == "cancelled":
        sys.exit(EXIT_CANCELLED)


@main.command()
@click.option("--type", "session_type", type=click.Choice(["internal", "external", "group", "updown", "system"]))
@click.option("--limit", type=LIMIT, default=1000, show_default=True)
@click.option("--refused", is_flag=True, help="Only conversations with a customer who refused archiving.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common
def sessions(ctx: AppContext, session_type: str | None, limit: int, refused: bool, as_json: bool) -> None:
    """List conversations, most recently active first, with the group's name and the participants'
    names beside their ids (today's names; `messages` shows each message's sender as named then).
    --refused: only conversations with a customer who refused archiving (`directory consent`)."""
    from .directory import NameBook

    actor = current_actor(ctx)
    names = NameBook(ctx, actor)
    if refused:
        from app.core.directory.compliance import ComplianceService

        service = ComplianceService(ctx.db, ctx.directory, ctx.trail)
        wanted = {(c.id, sid) for c in ctx.archive.corps(actor) for sid in service.refused_sessions(actor, c.id)}
        rows = [s for s in ctx.archive.sessions(actor, session_type=session_type, limit=MAX_LIMIT)
                if (s.corp_id, s.session_id) in wanted][:limit]
    else:
        rows = ctx.archive.sessions(actor, session_type=session_type, limit=limit)
    for s in rows:
        if as_json:
            click.echo(json_line({"corpid": names.corpid(s.corp_id), "session_id": s.session_id,
                                   "type": s.session_type, "roomid": s.roomid,
                                   "room_name": names.fields(s.corp_id, s.roomid)["name"] if s.roomid else None,
                                   "participants": list(s.participants),
                                   "participant_names": [names.fields(s.corp_id, p) for p in s.participants],
                                   "message_count": s.message_count, "first_msgtime": s.first_msgtime,
                                   "last_msgtime": s.last_msgtime}))
        else:
            people = ", ".join(names.text(s.corp_id, p) for p in s.participants[:4]) + (
                " …" if len(s.participants) > 4 else "")
            room = f"[{names.text(s.corp_id, s.roomid)}] " if s.roomid else ""
            click.echo(f"{display_name(s.session_id)}  {s.session_type:<8}  {s.message_count:>6}  "
                       f"{_ms_to_text(s.last_msgtime)}  {names.corpid(s.corp_id)}  {room}{people}")


@main.command()
@click.option("--session", "session_id", metavar="ID", help="Only this session.")
@click.option("--from", "date_from", metavar="DATE", help="From this date (local time).")
@click.option("--to", "date_to", metavar="DATE", help="Up to and including this date.")
@click.option("--limit", type=LIMIT, default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (with the raw message).")
@common
def messages(ctx: AppContext, session_id, date_from, date_to, limit: int, as_json: bool) -> None:
    """List messages in time order (in your scope). Recorded in the audit trail: opening the session
    (--session), or the listing."""
    from app.core.auth import Action
    from app.core.messages import MessageParseError, parse_message

    from .directory import NameBook

    service, actor = ctx.archive, current_actor(ctx)
    names = NameBook(ctx, actor)
    start_ms, end_ms = _parse_date(date_from), _parse_date(date_to, end=True)
    if session_id is not None:
        opened = [s for s in (service.open_session(actor, c.id, session_id) for c in service.corps(actor)) if s]
        if not opened:
            raise click.ClickException(f"there is no session {session_id} (`wecom-auditor sessions` lists them)")
    rows = service.messages(actor, session_id=session_id, start_ms=start_ms, end_ms=end_ms, limit=limit)
    if session_id is None or as_json:  # a listing across sessions, or one with the raw JSON
        service.trail.record(actor, Action.MESSAGE_RAW if as_json else Action.MESSAGE_VIEW, object_type="messages",
                             object=f"session {session_id}" if session_id else "all sessions in scope",
                             detail={"from_ms": start_ms, "to_ms": end_ms, "count": len(rows),
                                     "msgids": [m.msgid for m in rows[:50]]})
    for m in rows:
        detail = service.message(actor, message_id=m.id)
        if detail is None:  # deleted since it was listed (a retention run, a restore)
            continue
        if as_json:
            click.echo(json_line({"corpid": names.corpid(m.corp_id), "msgid": m.msgid, "seq": m.seq,
                                   "session_id": m.session_id, "session_type": m.session_type, "from": m.sender,
                                   "from_name": names.fields(m.corp_id, m.sender, m.msgtime),
                                   "tolist": list(m.tolist),
                                   "tolist_names": [names.fields(m.corp_id, t, m.msgtime) for t in m.tolist],
                                   "roomid": m.roomid,
                                   "room_name": names.fields(m.corp_id, m.roomid, m.msgtime)["name"] if m.roomid
                                   else None, "msgtime": m.msgtime, "msgtype": m.msgtype,
                                   "recalled_at": m.recalled_at, "sha256": detail.raw_sha256,
                                   "raw": detail.raw_json.decode("utf-8", "replace")}))
            continue
        try:
            summary = parse_message(detail.raw_json).summary_zh
        except MessageParseError:
            summary = "[?]"
        recalled = " [已撤回]" if m.recalled_at else ""
        click.echo(f"{_ms_to_text(m.msgtime)}  {names.corpid(m.corp_id)}  {names.text(m.corp_id, m.sender, m.msgtime):<28}  "
                   f"{display_text(summary, one_line=True)}{recalled}")


@main.command()
@click.option("--retry", is_flag=True, help="Try the quarantined entries again with the current keys.")
@click.option("--corp", "corpid", help="Corp id (default: the first configured).")
@click.option("--json", "as_json", is_flag=True)
@common
def quarantine(ctx: AppContext, retry: bool, corpid: str | None, as_json: bool) -> None:
    """Show archive entries that could not be decrypted or parsed (and retry them)."""
    service, actor = ctx.archive, current_actor(ctx)
    if retry:
        corp = ctx.settings.corp(corpid)
        result = ctx.retry_quarantine(actor, corp)
        click.echo(f"Retried {result.tried}: {result.resolved} now archived, {result.still_failing} still failing.")
    corp_id = service.corp_id(actor, corpid)
    for q in service.quarantine(actor, corp_id):
        if as_json:
            click.echo(json_line({"seq": q.seq, "msgid": q.msgid, "publickey_ver": q.publickey_ver,
                                   "stage": q.stage, "error": q.error, "attempts": q.attempts,
                                   "first_seen_at": q.first_seen_at, "last_tried_at": q.last_tried_at}))
        else:
            click.echo(f"seq {q.seq}  {display_name(q.msgid)}  v{q.publickey_ver}  {q.stage}: "
                       f"{display_text(q.error, one_line=True)}  (tries {q.attempts})")


@main.command("import-names")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--corp", "corpid", help="Corp id (default: the first configured).")
@common
def import_names(ctx: AppContext, file: str, corpid: str | None) -> None:
    """Import display names (JSON: {"directory": {id: name}, "groups": {roomid: {"name": …}},
    "departments": {id: dept}, "external_corps": {id: corp}}), replacing the corp's names."""
    from pathlib import Path

    from app.core.directory import DirectoryFileError, import_directory
    from app.core.sync.pipeline import ensure_corp

    actor = current_actor(ctx)
    corp = ctx.settings.corp(corpid)
    try:
        count = import_directory(ctx.db, ensure_corp(ctx.db, corp.corpid, corp.name), Path(file), actor=actor)
    except DirectoryFileError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(describe_os_error(exc, file, action="read the names file")) from None
    click.echo(f"{count} names imported for corp {corp.corpid}.")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=LIMIT, default=20, show_default=True)
@common
def runs(ctx: AppContext, as_json: bool, limit: int) -> None:
    """The history of sync runs."""
    from dataclasses import asdict

    for r in ctx.archive.sync_runs(current_actor(ctx), limit=limit):
        if as_json:
            click.echo(json_line(asdict(r)))
        else:
            click.echo(f"{_ms_to_text(r.started_at)}  {r.outcome:<11} seq {r.start_seq}→{r.last_seq}  "
                       f"stored {r.stored} dup {r.duplicates} quarantined {r.quarantined}  media "
                       f"{r.media_stored}/{r.media_failed}/{r.media_expired}"
                       + (f"  error: {display_text(r.error, one_line=True)}" if r.error else ""))
