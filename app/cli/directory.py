"""The directory on the command line: ``directory sync | runs | report | people | history | staff |
consent | secret | import``, and :class:`NameBook`, the names the listing commands (sessions,
messages, search) print beside ids."""

from __future__ import annotations

import sys
import threading

import click

from app.core.actor import Actor
from app.core.context import AppContext
from app.core.safe_text import display_name, json_line

from .base import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    LIMIT,
    _ms_to_text,
    common,
    current_actor,
    describe_os_error,
    main,
)


class NameBook:
    """Names for the listings: ``name (id)`` text and JSON fields, names as held at a message's time,
    the corp id of a corp's internal id. One per command (the directory is read once per corp)."""

    def __init__(self, ctx: AppContext, actor: Actor):
        self.directory = ctx.directory
        self.actor = actor
        self._corps = {c.id: c.corpid for c in ctx.archive.corps(actor)}

    def corpid(self, corp_id: int) -> str:
        return self._corps.get(corp_id, str(corp_id))

    def fields(self, corp_id: int, userid: str, ms: int | None = None) -> dict:
        """``{"id", "name", "name_now"?, "corp"?}``: the name at ``ms`` ("" unknown), today's where it
        changed, an external contact's corp (its full name, "微信" for WeChat users)."""
        at = self.directory.name_at(self.actor, corp_id, userid, ms)
        out = {"id": userid, "name": at.name}
        if at.changed:
            out["name_now"] = at.current
        person = self.directory.person(self.actor, corp_id, userid)
        if person is not None and person.kind == "external" and (at.organisation or person.organisation):
            out["corp"] = at.organisation or person.organisation
        return out

    def text(self, corp_id: int, userid: str, ms: int | None = None) -> str:
        """``陈静 (ChenJing)``, ``闫旭轩 @蓝鲸科技 (wo…)``, ``陈静 [now 陈静怡] (ChenJing)``, or the id alone
        when no name is known — every part neutralised for the terminal."""
        f = self.fields(corp_id, userid, ms)
        if not f["name"]:
            return display_name(userid)
        tag = self.directory.corp_tag(self.actor, corp_id, userid)
        shown = display_name(f["name"]) + (f" {display_name(tag)}" if tag else "")
        if "name_now" in f:
            shown += f" [now {display_name(f['name_now'])}]"
        return f"{shown} ({display_name(userid)})"


def _corp_and_id(ctx: AppContext, actor: Actor, corpid: str | None):
    corp = ctx.settings.corp(corpid)
    from app.core.sync.pipeline import ensure_corp

    return corp, ensure_corp(ctx.db, corp.corpid, corp.name)


@main.group()
def directory() -> None:
    """Names, departments, groups, the permit list and consent from WeCom's server API."""


@directory.command("sync")
@click.option("--corp", "corpid", help="Corp id (default: the first configured).")
@click.option("--no-avatars", is_flag=True, help="Do not fetch avatar pictures in this run.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@common
def sync_cmd(ctx: AppContext, corpid: str | None, no_avatars: bool, as_json: bool) -> None:
    """Ask WeCom's API for staff, departments, external contacts, groups, the permit list and
    consent, and keep them with their history. The report counts every API call's errcode; a refusal
    is one sentence naming the API and the secret. Exit 1 when nothing could be had, 3 when cancelled."""
    from app.core.directory.service import DirectorySetupError, sync_directory
    from app.core.directory.sync import DirectoryBusy

    actor = current_actor(ctx)
    corp = ctx.settings.corp(corpid)
    cancel = threading.Event()
    bar = None
    if sys.stderr.isatty() and not as_json:
        from tqdm import tqdm

        bar = tqdm(desc="directory", unit="step", file=sys.stderr, dynamic_ncols=True)

    def progress(p) -> None:
        if bar is not None:
            bar.set_description(f"directory: {p.phase}")
            bar.total = p.total
            bar.n = p.done
            bar.refresh()

    try:
        report = sync_directory(ctx, actor, corp, progress=progress, cancel=cancel.is_set, avatars=not no_avatars)
    except (DirectorySetupError, DirectoryBusy) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        cancel.set()
        raise
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        click.echo(json_line(report.to_dict()))
    else:
        click.echo(report.summary())
        _print_calls(report.calls)
        _print_problems([p.to_dict() for p in report.problems])
    if report.error:
        click.echo(f"Error: {report.error}", err=True)
    if report.outcome == "failed":
        sys.exit(EXIT_FAILED)
    if report.outcome == "cancelled":
        sys.exit(EXIT_CANCELLED)


def _print_calls(calls: dict) -> None:
    for api in sorted(calls):
        codes = ", ".join(f"{code}×{n}" for code, n in sorted(calls[api]["errcodes"].items()))
        click.echo(f"  {api:<40} {calls[api]['calls']:>6} call(s)   errcode {codes}")


def _print_problems(problems: list[dict]) -> None:
    for p in problems:
        ids = ", ".join(display_name(i) for i in p.get("ids") or [])
        click.echo(f"  ! {display_name(p['en'])}" + (f" ({p['count']}×" + (f": {ids}" if ids else "") + ")"
                                                     if p.get("count", 1) > 1 or ids else ""))


@directory.command("runs")
@click.option("--limit", type=LIMIT, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common
def runs_cmd(ctx: AppContext, limit: int, as_json: bool) -> None:
    """Directory syncs and imports, newest first."""
    from dataclasses import asdict

    from app.core.directory.runs import directory_runs

    actor = current_actor(ctx)
    corps = {c.id: c.corpid for c in ctx.archive.corps(actor)}  # needs archive.status
    for r in directory_runs(ctx.db, limit=limit):
        if as_json:
            click.echo(json_line({**asdict(r), "id": str(r.id), "corpid": corps.get(r.corp_id)}))
        else:
            click.echo(f"{r.id}  {_ms_to_text(r.started_at)}  {corps.get(r.corp_id, '?')}  {r.source:<6}  "
                       f"{r.outcome:<9}  {display_name(r.actor)}  {len(r.problems)} problem(s)")


@directory.command("report")
@click.argument("run_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@common
def report_cmd(ctx: AppContext, run_id: str | None, as_json: bool) -> None:
    """One directory sync's counts, every API's errcodes and its problems (default: the newest)."""
    from app.core.directory.runs import directory_runs

    actor = current_actor(ctx)
    ctx.archive.corps(actor)  # needs archive.status
    runs = directory_runs(ctx.db, limit=10_000 if run_id else 1)
    run = next((r for r in runs if run_id is None or str(r.id) == run_id.strip()), None)
    if run is None:
        raise click.ClickException("no directory sync has run yet" if run_id is None else
                                   f"there is no directory run {run_id} (`wecom-auditor directory runs` lists them)")
    if as_json:
        from dataclasses import asdict

        click.echo(json_line({**asdict(run), "id": str(run.id)}))
        return
    click.echo(f"Run {run.id} ({run.source}) by {display_name(run.actor)} on {display_name(run.workstation)}: "
               f"{run.outcome}, {_ms_to_text(run.started_at)} – {_ms_to_text(run.ended_at)}")
    click.echo("  " + ", ".join(f"{k} {v}" for k, v in run.counts.items()))
    _print_calls(run.calls)
    _print_problems(run.problems)
    if run.error:
        click.echo(f"  Error: {display_name(run.error)}")


@directory.command("people")
@click.option("--corp", "corpid", help="Corp id (default: the first configured).")
@click.option("--kind", type=click.Choice(["staff", "external", "room", "robot"]))
@click.option("--search", "text", metavar="TEXT", help="Only ids or names (now or earlier) containing TEXT.")
@click.option("--limit", type=LIMIT, default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common
def people_cmd(ctx: AppContext, corpid: str | None, kind: str | None, text: str | None, limit: int,
               as_json: bool) -> None:
    """Everyone the directory names: staff, external contacts, groups and robots."""
    actor = current_actor(ctx)
    corp, corp_id = _corp_and_id(ctx, actor, corpid)
    ctx.archive.corps(actor)  # needs archive.status
    d = ctx.directory
    wanted = d.ids_matching(actor, corp_id, text) if text else None
    shown = 0
    for p in d.people(actor, corp_id):
        if (kind and p.kind != kind) or (wanted is not None and p.userid not in wanted):
            continue
        if shown >= limit:
            break
        shown += 1
        if as_json:
            click.echo(json_line({"corpid": corp.corpid, "id": p.userid, "name": p.name, "kind": p.kind,
                                  "organisation": p.organisation, "corp_tag": p.corp_tag, "position": p.position,
                                  "status": p.status, "source": p.source, "avatar": p.avatar_sha256 is not None}))
        else:
            tag = f" {p.corp_tag}" if p.corp_tag else ""
            click.echo(f"{p.kind:<8}  {display_name(p.name)}{display_name(tag)} ({display_name(p.userid)})  "
                       f"{display_name(p.organisation)}")


@directory.command("history")
@click.argument("userid")
@click.option("--corp", "corpid", help="Corp id (default: the first configured).")
@click.option("--json", "as_json", is_flag=True)
@common
def history_cmd(ctx: AppContext, userid: str, corpid: str | None, as_json: bool) -> None:
    """Every name USERID (a person or a room) held, and since when it was seen with it."""
    actor = current_actor(ctx)
    corp, corp_id = _corp_and_id(ctx, actor, corpid)
    ctx.archive.corps(actor)
    periods = ctx.directory.history(actor, corp_id, userid)
    if not periods:
        raise click.ClickException(f"the directory has no name for {display_name(userid)}")
    for since, name, organisation in periods:
        if as_json:
            click.echo(json_line({"corpid": corp.corpid, "id": userid, "since": since, "name": name,
                                  "organisation": organisation}))
        else:
            click.echo(f"since {_ms_to_text(since)}  {display_name(name)}  {display_name(organisation)}")


@directory.command("staff")
@click.option("--corp", "corpid", help="Corp id (default: the first configured).")
@click.option("--attention", is_flag=True, help="Only staff whose chats are archived without being on the list.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common
def staff_cmd(ctx: AppContext, corpid: str | None, attention: bool, as_json: bool) -> None:
    """Who is under archiving now and since when (the permit list as directory syncs saw it), and
    whose chats are in the archive without being on the list."""
    from app.core.directory.compliance import ComplianceService

    actor = current_actor(ctx)
    corp, corp_id = _corp_and_id(ctx, actor, corpid)
    report = ComplianceService(ctx.db, ctx.directory, ctx.trail).archived_staff(actor, corp_id)
    if not as_json:
        seen = _ms_to_text(report.permit_list_seen_at) if report.permit_list_seen_at else "never (run directory sync)"
        click.echo(f"Permit list last read: {seen}", err=True)
    for r in report.rows:
        if attention and not r.attention:
            continue
        if as_json:
            click.echo(json_line({"corpid": corp.corpid, "id": r.userid, "name": r.name, "department": r.department,
                                  "state": r.state, "on_list": r.on_list, "since": r.since, "removed_at": r.removed_at,
                                  "messages": r.messages, "first_msgtime": r.first_msgtime,
                                  "last_msgtime": r.last_msgtime,
                                  "stretches": [[s.added_seen_at, s.removed_seen_at] for s in r.stretches]}))
        else:
            since = (f"since {_ms_to_text(r.since)}" if r.on_list else
                     f"off since {_ms_to_text(r.removed_at)}" if r.removed_at else "never on the list")
            click.echo(f"{'!' if r.attention else ' '} {r.state:<17} {display_name(r.name or '?')} "
                       f"({display_name(r.userid)})  {display_name(r.department)}  {since}  {r.messages} message(s)")


@directory.command("consent")
@click.option("--corp", "corpid", help="Corp id (default: the first configured).")
@click.option("--refused", is_flag=True, help="Only customers who refused archiving.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common
def consent_cmd(ctx: AppContext, corpid: str | None, refused: bool, as_json: bool) -> None:
    """Customers' consent to archiving, per staff member and per group, with the time of the decision
    and the agree/disagree entries of the archive."""
    from app.core.directory.compliance import ComplianceService

    actor = current_actor(ctx)
    corp, corp_id = _corp_and_id(ctx, actor, corpid)
    names = NameBook(ctx, actor)
    for r in ComplianceService(ctx.db, ctx.directory, ctx.trail).consent(actor, corp_id, refused_only=refused):
        if as_json:
            click.echo(json_line({
                "corpid": corp.corpid, "external": names.fields(corp_id, r.external_userid),
                "staff": names.fields(corp_id, r.userid) if r.userid else None,
                "room": names.fields(corp_id, r.roomid) if r.roomid else None, "status": r.status,
                "changed_at": r.changed_at, "checked_at": r.checked_at, "source": r.source,
                "session_id": r.session_id,
                "history": [{"status": s.status, "changed_at": s.changed_at, "seen_at": s.first_seen_at}
                            for s in r.history],
                "evidence": [{"msgid": e.msgid, "msgtype": e.msgtype, "msgtime": e.msgtime,
                              "decided_at": e.decided_at} for e in r.evidence]}))
        else:
            where = (f"in {names.text(corp_id, r.roomid)}" if r.roomid else
                     f"with {names.text(corp_id, r.userid)}" if r.userid else "(archive entries only)")
            click.echo(f"{'!' if r.refused else ' '} {r.status:<13} {_ms_to_text(r.changed_at)}  "
                       f"{names.text(corp_id, r.external_userid)}  {where}  {len(r.evidence)} entr"
                       f"{'y' if len(r.evidence) == 1 else 'ies'}")


@directory.command("secret")
@click.argument("kind", type=click.Choice(["contacts", "customer"]))
@click.option("--corp", "corpid", help="Corp id (default: the first configured).")
@click.option("--secret-stdin", is_flag=True, help="Read the secret from standard input (one line).")
@click.option("--delete", is_flag=True, help="Forget the secret.")
@common
def secret_cmd(ctx: AppContext, kind: str, corpid: str | None, secret_stdin: bool, delete: bool) -> None:
    """Keep the contacts secret (通讯录 Secret: user/ and department/) or the customer-contact secret
    (客户联系 Secret: externalcontact/) of a corp in the OS keyring, for directory syncs. Without it
    those APIs are called with the chat-archive secret, which WeCom usually refuses (48002)."""
    from app.core.auth import SETTINGS_CHANGE, Action

    from .base import read_secret_line

    actor = current_actor(ctx)
    corp = ctx.settings.corp(corpid)
    ctx.trail.require(actor, SETTINGS_CHANGE, action=Action.SETTINGS_CHANGE, object_type="setting",
                      object=f"corps[{corp.corpid}].{kind}_secret")
    if delete:
        ctx.secrets.delete_directory_secret(corp.corpid, kind)
        ctx.change_settings(actor, secrets_changed=[f"corps[{corp.corpid}].{kind}_secret"])
        click.echo(f"The {kind} secret of corp {corp.corpid} is forgotten.")
        return
    value = read_secret_line("secret") if secret_stdin else click.prompt(f"The {kind} secret", hide_input=True,
                                                                         err=True)
    value = value.strip()
    if not value:
        raise click.UsageError("the secret is empty")
    ctx.secrets.set_directory_secret(corp.corpid, kind, value)
    ctx.change_settings(actor, secrets_changed=[f"corps[{corp.corpid}].{kind}_secret"])
    click.echo(f"The {kind} secret of corp {corp.corpid} is kept in the OS keyring.")


@directory.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--corp", "corpid", help="Corp id (default: the first configured).")
@common
def import_cmd(ctx: AppContext, file: str, corpid: str | None) -> None:
    """Import names from a JSON file (as `import-names`), for corps that grant no API access."""
    from pathlib import Path

    from app.core.directory import DirectoryFileError, import_directory

    actor = current_actor(ctx)
    corp, corp_id = _corp_and_id(ctx, actor, corpid)
    try:
        count = import_directory(ctx.db, corp_id, Path(file), actor=actor)
    except DirectoryFileError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(describe_os_error(exc, file, action="read the names file")) from None
    click.echo(f"{count} names imported for corp {corp.corpid}.")


__all__ = ["NameBook", "directory"]
