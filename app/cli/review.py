"""Commands of the review workflow: ``tags``, ``review``, ``notes``, ``searches``, ``policies``,
``alerts`` and ``sample`` (app/core/review). Every listing takes ``--json`` (one object a line);
messages are named by WeCom's msgid, sessions by their id (``--corp`` where an id is in several
corps); names, ids and reviewers' text are shown neutralised, never as they could deceive."""

from __future__ import annotations

import dataclasses
import sys
from datetime import date, datetime

import click

from app.core.context import AppContext
from app.core.review import CLEAR, STATUSES, Review, ReviewError
from app.core.review.common import locate_messages, locate_session, message_refs
from app.core.safe_text import display_name, display_text, json_line

from .base import LIMIT, _ms_to_text, _parse_date, common, current_actor, main

MAX_ID = click.IntRange(1, 2**63 - 1)


def _review(ctx: AppContext) -> Review:
    return Review(ctx.db, ctx.trail)


def _fail(exc: Exception):
    raise click.ClickException(str(exc)) from None


def _json(obj) -> None:
    if dataclasses.is_dataclass(obj):
        obj = dataclasses.asdict(obj)
    click.echo(json_line(obj))


def _text_arg(text: str | None, from_stdin: bool, what: str) -> str:
    if from_stdin:
        try:
            return sys.stdin.read()
        except UnicodeDecodeError:
            raise click.UsageError(f"the {what} on standard input is not UTF-8 text") from None
    if text is None:
        raise click.UsageError(f"give the {what}, or --stdin to read it from standard input")
    return text


def _week(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date: write YYYY-MM-DD (any day of the week)",
                                 param_hint="--week") from None


_SESSION = click.option("--session", "session_id", metavar="ID", help="A conversation (its session id).")
_CORP = click.option("--corp", "corpid", metavar="CORPID", help="The corp, where an id is in several.")
_MSGIDS = click.option("--msgid", "msgids", multiple=True, metavar="MSGID", help="A message (repeat for several).")
_AS_JSON = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")


def _target(ctx: AppContext, msgids, session_id, corpid, *, query: str | None = None) -> tuple[list[int], tuple | None]:
    given = sum(1 for x in (msgids, session_id, query) if x)
    if given != 1:
        raise click.UsageError("choose what: --msgid MSGID (repeatable), --session ID" +
                               (" or --query QUERY" if query is not None else ""))
    try:
        if msgids:
            return locate_messages(ctx.db, msgids, corpid), None
        if session_id:
            return [], locate_session(ctx.db, session_id, corpid)
    except ReviewError as exc:
        _fail(exc)
    return [], None


# ====================================================================== tags
@main.group()
def tags() -> None:
    """The tag set and tagging.

    \b
    wecom-auditor tags list
    wecom-auditor tags apply 违规 --msgid MSGID [--msgid …] | --session ID | --query QUERY
    wecom-auditor tags remove 违规 --msgid MSGID …
    wecom-auditor tags show --session ID
    wecom-auditor tags create 已归档 Archived [--colour #607D8B]     (administrators)
    wecom-auditor tags edit 违规 [--zh …] [--en …] [--colour …] [--position N] [--disable|--enable]
    """


@tags.command("list")
@click.option("--all", "include_disabled", is_flag=True, help="Also disabled tags.")
@_AS_JSON
@common
def tags_list(ctx: AppContext, include_disabled, as_json) -> None:
    """The tag set in its order (the viewer's keys 1-9 follow it)."""
    rows = _review(ctx).tags.tags(current_actor(ctx), include_disabled=include_disabled)
    for t in rows:
        if as_json:
            _json(t)
        else:
            state = "  (disabled)" if t.disabled else ""
            click.echo(f"{t.position}  {display_name(t.label_zh)}  {display_name(t.label_en)}  {t.colour}  "
                       f"[{t.key}]{state}")


def _tagging(ctx: AppContext, tag: str, msgids, session_id, corpid, query, remove: bool) -> None:
    actor = current_actor(ctx)
    review = _review(ctx)
    try:
        if query:
            if msgids or session_id:
                raise click.UsageError("choose one of --msgid, --session or --query")
            n = review.tags.tag_results(actor, tag, query, ctx.search, remove=remove)
            what = "messages the query finds"
        else:
            ids, session = _target(ctx, msgids, session_id, corpid, query="")
            n = review.tags.tag(actor, tag, message_ids=ids, session=session, remove=remove)
            what = "session" if session else "messages"
    except ReviewError as exc:
        _fail(exc)
    verb = "removed from" if remove else "put on"
    click.echo(f"Tag {display_name(tag)} {verb} {n} {what}" + (" (the others had it already)" if not remove else "")
               if what != "session" else f"Tag {display_name(tag)} {verb} the session" +
               ("" if n else " (no change)"))


@tags.command("apply")
@click.argument("tag")
@_MSGIDS
@_SESSION
@click.option("--query", metavar="QUERY", help="Every message this search finds (in your scope).")
@_CORP
@common
def tags_apply(ctx: AppContext, tag, msgids, session_id, query, corpid) -> None:
    """Put TAG (its key, Chinese or English name) on messages, a whole session or search results."""
    _tagging(ctx, tag, msgids, session_id, corpid, query, False)


@tags.command("remove")
@click.argument("tag")
@_MSGIDS
@_SESSION
@click.option("--query", metavar="QUERY", help="Every message this search finds (in your scope).")
@_CORP
@common
def tags_remove(ctx: AppContext, tag, msgids, session_id, query, corpid) -> None:
    """Take TAG off messages, a session or search results."""
    _tagging(ctx, tag, msgids, session_id, corpid, query, True)


@tags.command("show")
@_MSGIDS
@_SESSION
@_CORP
@_AS_JSON
@common
def tags_show(ctx: AppContext, msgids, session_id, corpid, as_json) -> None:
    """The tags on messages (their own and their session's) or on a session."""
    actor, review = current_actor(ctx), _review(ctx)
    ids, session = _target(ctx, msgids, session_id, corpid)
    names = {t.id: t for t in review.tags.all_tags()}
    if session is not None:
        found = review.tags.of_session(actor, *session)
        rows = [("session", session[1], found)]
    else:
        refs = message_refs(ctx.db, ids)
        rows = []
        for mid in ids:
            ref = refs[mid]
            found = review.tags.of_messages(actor, ref.corp_id, ref.session_id, [mid]).get(mid, [])
            rows.append(("message", ref.msgid, found))
    for kind, ident, found in rows:
        labels = [names[t] for t in found if t in names]
        if as_json:
            _json({kind: ident, "tags": [{"key": t.key, "zh": t.label_zh, "en": t.label_en} for t in labels]})
        else:
            click.echo(f"{display_name(ident)}  " + (", ".join(f"{display_name(t.label_zh)} {display_name(t.label_en)}"
                                                              for t in labels) or "(no tag)"))


@tags.command("create")
@click.argument("label_zh")
@click.argument("label_en")
@click.option("--colour", default="#607D8B", show_default=True, help="#RRGGBB")
@click.option("--key", help="A stable key (letters, digits, _); default: from the English name.")
@common
def tags_create(ctx: AppContext, label_zh, label_en, colour, key) -> None:
    """Add a tag to the tag set (administrators)."""
    try:
        t = _review(ctx).tags.add_tag(current_actor(ctx), label_zh, label_en, colour=colour, key=key)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Tag {display_name(t.label_zh)} {display_name(t.label_en)} added at position {t.position} [{t.key}].")


@tags.command("edit")
@click.argument("tag")
@click.option("--zh", "label_zh", help="The Chinese name.")
@click.option("--en", "label_en", help="The English name.")
@click.option("--colour", help="#RRGGBB")
@click.option("--position", type=click.IntRange(1, 64), help="Its place in the set (1 = first; keys 1-9).")
@click.option("--disable/--enable", "disabled", default=None, help="Offer it no more (what it tagged keeps it).")
@common
def tags_edit(ctx: AppContext, tag, label_zh, label_en, colour, position, disabled) -> None:
    """Change a tag of the tag set (administrators)."""
    try:
        t = _review(ctx).tags.edit_tag(current_actor(ctx), tag, label_zh=label_zh, label_en=label_en, colour=colour,
                                       position=position, enabled=None if disabled is None else not disabled)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Tag {display_name(t.label_zh)} {display_name(t.label_en)}: position {t.position}, {t.colour}"
               + (", disabled" if t.disabled else "") + ".")


# ====================================================================== review status
@main.group()
def review() -> None:
    """Review status: unreviewed / in review / reviewed, and "reviewed up to here".

    \b
    wecom-auditor review sessions                 sessions with a review state, new since my review
    wecom-auditor review show --session ID        the session's state and every reviewer's mark
    wecom-auditor review mark --session ID [--upto MSGID]     reviewed up to here (default: all)
    wecom-auditor review set in_review --session ID | reviewed --msgid MSGID …
    wecom-auditor review next --session ID [--after MSGID] [--back]
    """


@review.command("set")
@click.argument("status", type=click.Choice([*STATUSES, CLEAR]))
@_MSGIDS
@_SESSION
@_CORP
@common
def review_set(ctx: AppContext, status, msgids, session_id, corpid) -> None:
    """Set the status of messages (or clear it), or of a session (unreviewed resets it)."""
    actor, r = current_actor(ctx), _review(ctx)
    ids, session = _target(ctx, msgids, session_id, corpid)
    try:
        if session is not None:
            if status == CLEAR:
                raise click.UsageError("a session's status is unreviewed, in_review or reviewed")
            s = r.status.set_session(actor, session[0], session[1], status)
            click.echo(f"Session {display_name(session[1])} is {s.status}.")
        else:
            n = r.status.set_messages(actor, ids, status)
            click.echo(f"{n} of {len(ids)} messages changed to {status}.")
    except ReviewError as exc:
        _fail(exc)


@review.command("mark")
@_SESSION
@click.option("--upto", "upto", metavar="MSGID", help="Reviewed up to and including this message (default: all).")
@_CORP
@common
def review_mark(ctx: AppContext, session_id, upto, corpid) -> None:
    """Mark a session reviewed up to a message (or to its newest)."""
    actor, r = current_actor(ctx), _review(ctx)
    if not session_id:
        raise click.UsageError("--session ID is required")
    try:
        corp_id, sid = locate_session(ctx.db, session_id, corpid)
        upto_id = locate_messages(ctx.db, [upto], corpid)[0] if upto else None
        s = r.status.mark_reviewed(actor, corp_id, sid, upto_id)
    except ReviewError as exc:
        _fail(exc)
    left = f"; {s.unreviewed_after_marks} messages after it" if s.unreviewed_after_marks else ""
    click.echo(f"Session {display_name(sid)} reviewed up to {_ms_to_text(s.mine.upto_msgtime if s.mine else None)} "
               f"({s.status}{left}).")


def _session_json(s) -> dict:
    d = dataclasses.asdict(s)
    d["marks"] = [dataclasses.asdict(m) for m in s.marks]
    return d


@review.command("show")
@_SESSION
@_CORP
@_AS_JSON
@common
def review_show(ctx: AppContext, session_id, corpid, as_json) -> None:
    """A session's review state: status, who put it in review, every reviewer's mark, new for me."""
    if not session_id:
        raise click.UsageError("--session ID is required")
    try:
        s = _review(ctx).status.session_review(current_actor(ctx), *locate_session(ctx.db, session_id, corpid))
    except ReviewError as exc:
        _fail(exc)
    if as_json:
        _json(_session_json(s))
        return
    click.echo(f"Session {display_name(s.session_id)}: {s.status}" +
               (f"; new since my review: {s.new_for_me}" if s.new_for_me is not None else "; not reviewed by me"))
    if s.in_review_by:
        click.echo(f"  put in review by {display_name(s.in_review_by)} at {_ms_to_text(s.in_review_at)}")
    for m in s.marks:
        click.echo(f"  {display_name(m.reviewer)} reviewed up to {_ms_to_text(m.upto_msgtime)} "
                   f"(marked {_ms_to_text(m.marked_at)})")


@review.command("sessions")
@_AS_JSON
@common
def review_sessions(ctx: AppContext, as_json) -> None:
    """Sessions with a review state, with new messages since my last review (the rest are unreviewed)."""
    actor = current_actor(ctx)
    overview = _review(ctx).status.overview(actor)
    for (corp_id, sid), (status, new) in sorted(overview.items(), key=lambda kv: kv[0][1]):
        if as_json:
            _json({"corp_id": corp_id, "session_id": sid, "status": status, "new_for_me": new})
        else:
            click.echo(f"{display_name(sid)}  {status}" + (f"  {new} new since my review" if new else ""))


@review.command("next")
@_SESSION
@click.option("--after", "after", metavar="MSGID", help="Start after this message (default: the start).")
@click.option("--back", is_flag=True, help="Look backwards (the previous unreviewed message).")
@_CORP
@common
def review_next(ctx: AppContext, session_id, after, back, corpid) -> None:
    """The next (or previous) message of a session that is not reviewed (the viewer's J / K)."""
    if not session_id:
        raise click.UsageError("--session ID is required")
    actor = current_actor(ctx)
    try:
        corp_id, sid = locate_session(ctx.db, session_id, corpid)
        position = None
        if after:
            mid = locate_messages(ctx.db, [after], corpid)[0]
            position = (message_refs(ctx.db, [mid])[mid].msgtime, mid)
        found = _review(ctx).status.next_unreviewed(actor, corp_id, sid, position, backwards=back)
    except ReviewError as exc:
        _fail(exc)
    if found is None:
        click.echo("No unreviewed message " + ("before" if back else "after") + " it.")
        return
    ref = message_refs(ctx.db, [found])[found]
    click.echo(f"{display_name(ref.msgid)}  {_ms_to_text(ref.msgtime)}  {display_name(ref.sender)}")


# ====================================================================== notes
@main.group()
def notes() -> None:
    """Reviewers' notes on messages and sessions (edits are versions; only the author changes a note).

    \b
    wecom-auditor notes add --msgid MSGID "TEXT"   (or --session ID; --stdin reads the text)
    wecom-auditor notes list --session ID [--all]
    wecom-auditor notes edit NOTE "TEXT" | withdraw NOTE | history NOTE
    """


@notes.command("add")
@click.argument("text", required=False)
@_MSGIDS
@_SESSION
@_CORP
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the text from standard input.")
@common
def notes_add(ctx: AppContext, text, msgids, session_id, corpid, from_stdin) -> None:
    """A note on one message, or on a session."""
    actor, r = current_actor(ctx), _review(ctx)
    text = _text_arg(text, from_stdin, "note")
    ids, session = _target(ctx, msgids, session_id, corpid)
    try:
        if session is not None:
            n = r.notes.add(actor, session[0], session[1], text)
        else:
            if len(ids) != 1:
                raise click.UsageError("a note is on one message: give one --msgid")
            ref = message_refs(ctx.db, ids)[ids[0]]
            n = r.notes.add(actor, ref.corp_id, ref.session_id, text, message_id=ids[0])
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Note {n.id} added.")


@notes.command("edit")
@click.argument("note_id", type=MAX_ID)
@click.argument("text", required=False)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the text from standard input.")
@common
def notes_edit(ctx: AppContext, note_id, text, from_stdin) -> None:
    """A new version of your note (the earlier ones stay in its history)."""
    try:
        n = _review(ctx).notes.edit(current_actor(ctx), note_id, _text_arg(text, from_stdin, "note"))
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Note {n.id} is at version {n.version}.")


@notes.command("withdraw")
@click.argument("note_id", type=MAX_ID)
@common
def notes_withdraw(ctx: AppContext, note_id) -> None:
    """Withdraw your note (its history keeps every version)."""
    try:
        n = _review(ctx).notes.withdraw(current_actor(ctx), note_id)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Note {n.id} withdrawn (version {n.version}).")


@notes.command("list")
@_SESSION
@_CORP
@click.option("--all", "include_withdrawn", is_flag=True, help="Also withdrawn notes.")
@_AS_JSON
@common
def notes_list(ctx: AppContext, session_id, corpid, include_withdrawn, as_json) -> None:
    """The notes of a session and its messages, oldest first."""
    if not session_id:
        raise click.UsageError("--session ID is required")
    try:
        corp_id, sid = locate_session(ctx.db, session_id, corpid)
        rows = _review(ctx).notes.of_session(current_actor(ctx), corp_id, sid, include_withdrawn=include_withdrawn)
    except ReviewError as exc:
        _fail(exc)
    refs = message_refs(ctx.db, [n.message_id for n in rows if n.message_id])
    for n in rows:
        on = refs[n.message_id].msgid if n.message_id in refs else None
        if as_json:
            _json({**dataclasses.asdict(n), "msgid": on})
            continue
        where = f"message {display_name(on)}" if on else "the session"
        state = " (withdrawn)" if n.withdrawn else ""
        click.echo(f"#{n.id} on {where} by {display_name(n.author)}, {_ms_to_text(n.updated_at)}, v{n.version}{state}")
        if n.text is not None and not n.withdrawn:
            click.echo("    " + display_text(n.text).replace("\n", "\n    "))


@notes.command("history")
@click.argument("note_id", type=MAX_ID)
@_AS_JSON
@common
def notes_history(ctx: AppContext, note_id, as_json) -> None:
    """Every version of a note, oldest first."""
    try:
        versions = _review(ctx).notes.history(current_actor(ctx), note_id)
    except ReviewError as exc:
        _fail(exc)
    for v in versions:
        if as_json:
            _json(v)
        else:
            body = "(withdrawn)" if v.text == "" else ("(text not shown to auditors)" if v.text is None
                                                       else display_text(v.text, one_line=True))
            click.echo(f"v{v.version}  {_ms_to_text(v.at)}  {v.sha256[:12]}  {body}")


# ====================================================================== saved searches
@main.group()
def searches() -> None:
    """Saved searches: name a query, share it, run it, see new hits since you last ran it.

    \b
    wecom-auditor searches save NAME QUERY [--shared]
    wecom-auditor searches list [--counts]
    wecom-auditor searches run NAME [--limit N]
    wecom-auditor searches share NAME [--off] | rename NAME NEW | update NAME QUERY | delete NAME
    """


@searches.command("save")
@click.argument("name")
@click.argument("query")
@click.option("--shared", is_flag=True, help="Every reviewer sees and runs it.")
@common
def searches_save(ctx: AppContext, name, query, shared) -> None:
    """Save QUERY (the search language) as NAME."""
    try:
        s = _review(ctx).searches.save(current_actor(ctx), name, query, shared=shared)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Saved search {display_name(s.name)} ({'shared' if s.shared else 'private'}).")


@searches.command("list")
@click.option("--counts", is_flag=True, help="Also the hits now and the new ones since you last ran each.")
@_AS_JSON
@common
def searches_list(ctx: AppContext, counts, as_json) -> None:
    """Your saved searches and those shared with you."""
    actor, r = current_actor(ctx), _review(ctx)
    for s in r.searches.list(actor):
        c = r.searches.counts(actor, s.id, ctx.search) if counts else None
        if as_json:
            _json({**dataclasses.asdict(s), **({"hits": c.hits, "new": c.new} if c else {})})
            continue
        owner = "mine" if s.mine else f"shared by {display_name(s.owner)}"
        extra = ""
        if c is not None:
            extra = f"  {c.hits} hits" + (f", {c.new} new since you ran it" if c.new is not None else ", never run")
        click.echo(f"{s.id}  {display_name(s.name)}  [{owner}{', shared' if s.shared and s.mine else ''}]  "
                   f"{display_name(s.query)}{extra}")


@searches.command("run")
@click.argument("name")
@click.option("--limit", type=LIMIT, default=50, show_default=True)
@_AS_JSON
@common
def searches_run(ctx: AppContext, name, limit, as_json) -> None:
    """Run a saved search (recorded as a search) and remember when, for "new since"."""
    from app.core.search import QueryError

    try:
        s, hits, total = _review(ctx).searches.run(current_actor(ctx), name, ctx.search, limit=limit)
    except ReviewError as exc:
        _fail(exc)
    except QueryError as exc:
        _fail(ReviewError(f"{exc.message} (at character {exc.position + 1})",
                          f"{exc.message}（第 {exc.position + 1} 个字符处）"))
    for h in hits:
        m = h.message
        if as_json:
            _json({"msgid": m.msgid, "session_id": m.session_id, "msgtime": m.msgtime, "msgtype": m.msgtype,
                   "from": m.sender, "text": m.content_text})
        else:
            click.echo(f"{_ms_to_text(m.msgtime)}  {display_name(m.sender)}  "
                       f"{display_text(m.content_text, one_line=True)[:200]}")
    if not as_json:
        click.echo(f"{total} hits of {display_name(s.name)}.", err=True)


@searches.command("share")
@click.argument("name")
@click.option("--off", is_flag=True, help="Make it private again.")
@common
def searches_share(ctx: AppContext, name, off) -> None:
    """Share your saved search with every reviewer (or stop sharing it)."""
    try:
        s = _review(ctx).searches.update(current_actor(ctx), name, shared=not off)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Saved search {display_name(s.name)} is {'shared' if s.shared else 'private'}.")


@searches.command("rename")
@click.argument("name")
@click.argument("new_name")
@common
def searches_rename(ctx: AppContext, name, new_name) -> None:
    """Rename your saved search."""
    try:
        s = _review(ctx).searches.update(current_actor(ctx), name, name=new_name)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Saved search renamed to {display_name(s.name)}.")


@searches.command("update")
@click.argument("name")
@click.argument("query")
@common
def searches_update(ctx: AppContext, name, query) -> None:
    """Change the query of your saved search."""
    try:
        s = _review(ctx).searches.update(current_actor(ctx), name, query=query)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Saved search {display_name(s.name)} now runs {display_name(s.query)}.")


@searches.command("delete")
@click.argument("name")
@common
def searches_delete(ctx: AppContext, name) -> None:
    """Delete your saved search."""
    try:
        _review(ctx).searches.delete(current_actor(ctx), name)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Saved search {display_name(name)} deleted.")


# ====================================================================== policies
@main.group()
def policies() -> None:
    """Policies: saved queries run on every sync (or daily) that raise alerts.

    \b
    wecom-auditor policies add NAME QUERY [--schedule sync|daily] [--assignee NAME]   (administrators)
    wecom-auditor policies list
    wecom-auditor policies edit NAME [--query Q] [--schedule S] [--disable|--enable] …
    wecom-auditor policies run [NAME …] [--since DATE]     evaluate now (after a sync it runs itself)
    """


@policies.command("add")
@click.argument("name")
@click.argument("query")
@click.option("--schedule", type=click.Choice(["sync", "daily"]), default="sync", show_default=True)
@click.option("--description", default="", help="What the policy is for.")
@click.option("--assignee", metavar="NAME", help="Who its new alerts go to (a reviewer account).")
@common
def policies_add(ctx: AppContext, name, query, schedule, description, assignee) -> None:
    """Add a policy; it evaluates what is stored from now on (`policies run --since` looks back)."""
    try:
        p = _review(ctx).policies.create(current_actor(ctx), name, query, schedule=schedule,
                                         description=description, assignee=assignee)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Policy {display_name(p.name)} added ({p.schedule}).")


@policies.command("list")
@_AS_JSON
@common
def policies_list(ctx: AppContext, as_json) -> None:
    """The policies."""
    for p in _review(ctx).policies.policies(current_actor(ctx)):
        if as_json:
            _json(p)
        else:
            state = "" if p.enabled else "  (disabled)"
            who = f"  → {display_name(p.assignee)}" if p.assignee else ""
            click.echo(f"{p.id}  {display_name(p.name)}  [{p.schedule}]  {display_name(p.query)}{who}{state}")


@policies.command("edit")
@click.argument("name")
@click.option("--name", "new_name", help="A new name.")
@click.option("--query", help="A new query (applies from now on).")
@click.option("--schedule", type=click.Choice(["sync", "daily"]))
@click.option("--description")
@click.option("--assignee", metavar="NAME", help="Who its new alerts go to; --no-assignee for nobody.")
@click.option("--no-assignee", is_flag=True)
@click.option("--disable/--enable", "disabled", default=None)
@common
def policies_edit(ctx: AppContext, name, new_name, query, schedule, description, assignee, no_assignee,
                  disabled) -> None:
    """Change a policy (administrators); each change is recorded."""
    try:
        p = _review(ctx).policies.update(current_actor(ctx), name, name=new_name, query=query, schedule=schedule,
                                         description=description, assignee=assignee, clear_assignee=no_assignee,
                                         enabled=None if disabled is None else not disabled)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Policy {display_name(p.name)}: {'enabled' if p.enabled else 'disabled'}, {p.schedule}, "
               f"{display_name(p.query)}.")


@policies.command("run")
@click.argument("names", nargs=-1)
@click.option("--since", help="Look back over messages since DATE (through the search index).")
@_AS_JSON
@common
def policies_run(ctx: AppContext, names, since, as_json) -> None:
    """Evaluate policies now (all enabled ones, or NAMES) and raise their alerts."""
    since_ms = _parse_date(since) if since else None
    try:
        report = _review(ctx).policies.run(current_actor(ctx), names, since_ms=since_ms, search=ctx.search)
    except ReviewError as exc:
        _fail(exc)
    if as_json:
        _json(report.to_dict())
        return
    click.echo(f"Evaluated {report.messages} messages in {report.seconds:.2f} s: {len(report.raised)} alerts raised, "
               f"{len(report.updated)} with new hits ({len(report.reopened)} reopened).")
    for name, n in sorted(report.hits.items()):
        click.echo(f"  {display_name(name)}: {n} new hits")


# ====================================================================== alerts
@main.group()
def alerts() -> None:
    """Alerts raised by policies: list and triage.

    \b
    wecom-auditor alerts list [--status open|dismissed|escalated|all] [--mine|--unassigned]
    wecom-auditor alerts show ID
    wecom-auditor alerts assign ID … --to NAME|me|nobody
    wecom-auditor alerts dismiss ID … --reason TEXT
    wecom-auditor alerts escalate ID … --reason TEXT [--to NAME]
    wecom-auditor alerts reopen ID …
    """


@alerts.command("list")
@click.option("--status", type=click.Choice(["open", "dismissed", "escalated", "all"]), default="open",
              show_default=True)
@click.option("--mine", is_flag=True, help="Only those assigned to you.")
@click.option("--unassigned", is_flag=True, help="Only those assigned to nobody.")
@click.option("--assignee", metavar="NAME", help="Only those assigned to NAME.")
@click.option("--policy", metavar="NAME", help="Only this policy's.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@_AS_JSON
@common
def alerts_list(ctx: AppContext, status, mine, unassigned, assignee, policy, limit, as_json) -> None:
    """Alerts in your scope, most recently updated first."""
    if sum(bool(x) for x in (mine, unassigned, assignee)) > 1:
        raise click.UsageError("choose one of --mine, --unassigned and --assignee")
    actor, r = current_actor(ctx), _review(ctx)
    try:
        pid = r.policies.find(policy).id if policy else None
        rows = r.alerts.list(actor, status=None if status == "all" else status,
                             assignee="me" if mine else "none" if unassigned else assignee, policy=pid, limit=limit)
    except ReviewError as exc:
        _fail(exc)
    for a in rows:
        if as_json:
            _json(a)
        else:
            who = display_name(a.assignee) if a.assignee else "-"
            new = f" (+{a.new_hits} new)" if a.new_hits and a.status != "open" else ""
            click.echo(f"{a.id}  {a.status:<9}  {a.day}  {display_name(a.policy)}  session {display_name(a.session_id)}  "
                       f"{a.hits} hit{'s' if a.hits != 1 else ''}{new}  → {who}")


@alerts.command("show")
@click.argument("alert_id", type=MAX_ID)
@_AS_JSON
@common
def alerts_show(ctx: AppContext, alert_id, as_json) -> None:
    """One alert with its hits (msgid, time, sender; read the messages with `messages`)."""
    actor, r = current_actor(ctx), _review(ctx)
    try:
        a = r.alerts.get(actor, alert_id)
        hits = r.alerts.hits(actor, alert_id)
    except ReviewError as exc:
        _fail(exc)
    refs = message_refs(ctx.db, [m for m, _t in hits])
    if as_json:
        _json({**dataclasses.asdict(a), "hits": [{"msgid": refs[m].msgid, "msgtime": t, "from": refs[m].sender,
                                                  "msgtype": refs[m].msgtype} for m, t in hits if m in refs]})
        return
    click.echo(f"Alert {a.id}: {display_name(a.policy)}, session {display_name(a.session_id)}, {a.day}, {a.status}"
               + (f", assigned to {display_name(a.assignee)}" if a.assignee else ""))
    if a.triaged_by:
        click.echo(f"  triaged by {display_name(a.triaged_by)} at {_ms_to_text(a.triaged_at)}"
                   + (f": {display_text(a.reason, one_line=True)}" if a.reason else ""))
    for m, t in hits:
        if m in refs:
            click.echo(f"  {display_name(refs[m].msgid)}  {_ms_to_text(t)}  {display_name(refs[m].sender)}  "
                       f"{display_name(refs[m].msgtype)}")


def _triage(ctx: AppContext, ids, action: str, reason: str = "", assignee: str | None = None) -> None:
    try:
        rows = _review(ctx).alerts.triage(current_actor(ctx), ids, action, reason=reason, assignee=assignee)
    except ReviewError as exc:
        _fail(exc)
    for a in rows:
        click.echo(f"Alert {a.id}: {a.status}" + (f", assigned to {display_name(a.assignee)}" if a.assignee else "") + ".")


@alerts.command("assign")
@click.argument("alert_ids", type=MAX_ID, nargs=-1, required=True)
@click.option("--to", "to", required=True, metavar="NAME", help="A reviewer, me, or nobody.")
@common
def alerts_assign(ctx: AppContext, alert_ids, to) -> None:
    """Assign alerts."""
    _triage(ctx, alert_ids, "assign", assignee=None if to == "nobody" else to)


@alerts.command("dismiss")
@click.argument("alert_ids", type=MAX_ID, nargs=-1, required=True)
@click.option("--reason", required=True, help="Why (a false positive, nothing to act on …).")
@common
def alerts_dismiss(ctx: AppContext, alert_ids, reason) -> None:
    """Dismiss alerts with a reason."""
    _triage(ctx, alert_ids, "dismiss", reason=reason)


@alerts.command("escalate")
@click.argument("alert_ids", type=MAX_ID, nargs=-1, required=True)
@click.option("--reason", required=True, help="Why.")
@click.option("--to", "to", metavar="NAME", help="Assign it to this reviewer as well.")
@common
def alerts_escalate(ctx: AppContext, alert_ids, reason, to) -> None:
    """Escalate alerts with a reason."""
    _triage(ctx, alert_ids, "escalate", reason=reason, assignee=to)


@alerts.command("reopen")
@click.argument("alert_ids", type=MAX_ID, nargs=-1, required=True)
@click.option("--reason", default="", help="Why (optional).")
@common
def alerts_reopen(ctx: AppContext, alert_ids, reason) -> None:
    """Open dismissed or escalated alerts again."""
    _triage(ctx, alert_ids, "reopen", reason=reason)


# ====================================================================== sampling
@main.group()
def sample() -> None:
    """Sampling: review N % (or N) of a staff group's conversations a week, chosen at random among
    those without alerts, with the seed kept so that an auditor can reproduce the draw.

    \b
    wecom-auditor sample rule-add NAME (--user ID … | --department D …) (--percent N | --sessions N)
    wecom-auditor sample rules [--all] | rule-edit NAME [...] | rule-disable NAME
    wecom-auditor sample draw RULE [--week YYYY-MM-DD]     (default: last week)
    wecom-auditor sample list [--mine] | show DRAW | reproduce DRAW
    """


@sample.command("rule-add")
@click.argument("name")
@click.option("--user", "userids", multiple=True, metavar="USERID", help="A member of the staff group.")
@click.option("--department", "departments", multiple=True, metavar="NAME", help="A department (all its staff).")
@click.option("--percent", type=click.IntRange(1, 100), help="This share of the week's conversations (rounded up).")
@click.option("--sessions", type=click.IntRange(1, 10_000), help="Or this many conversations a week.")
@_CORP
@common
def sample_rule_add(ctx: AppContext, name, userids, departments, percent, sessions, corpid) -> None:
    """Add a sampling rule (administrators)."""
    actor = current_actor(ctx)
    corp_id = None
    if corpid:
        corp_id = ctx.archive.corp_id(actor, corpid)
        if corp_id is None:
            raise click.ClickException(f"corp {corpid!r} is not in this archive")
    try:
        rule = _review(ctx).sampling.create_rule(actor, name, userids=userids, departments=departments,
                                                 percent=percent, sessions=sessions, corp_id=corp_id)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Sampling rule added: {display_name(rule.describe())}.")


@sample.command("rules")
@click.option("--all", "include_disabled", is_flag=True, help="The disabled rules too.")
@_AS_JSON
@common
def sample_rules(ctx: AppContext, include_disabled, as_json) -> None:
    """The sampling rules (the enabled ones, or --all)."""
    for rule in _review(ctx).sampling.rules(current_actor(ctx), include_disabled=include_disabled):
        if as_json:
            _json(rule)
        else:
            click.echo(f"{rule.id}  {display_name(rule.describe())}" + ("  (disabled)" if rule.disabled else ""))


@sample.command("rule-edit")
@click.argument("name")
@click.option("--name", "new_name", help="A new name.")
@click.option("--user", "userids", multiple=True, metavar="USERID",
              help="The staff group's members (replaces them; repeat the option for each).")
@click.option("--department", "departments", multiple=True, metavar="NAME",
              help="The group's departments (replaces them; repeat the option for each).")
@click.option("--no-users", is_flag=True, help="No staff by id (the departments only).")
@click.option("--no-departments", is_flag=True, help="No departments (the staff by id only).")
@click.option("--percent", type=click.IntRange(1, 100), help="This share of the week's conversations instead.")
@click.option("--sessions", type=click.IntRange(1, 10_000), help="Or this many conversations a week instead.")
@click.option("--disable/--enable", "disabled", default=None)
@common
def sample_rule_edit(ctx: AppContext, name, new_name, userids, departments, no_users, no_departments, percent,
                     sessions, disabled) -> None:
    """Change a sampling rule (administrators); each change is recorded. Draws made before keep the
    rule as it was then (they still reproduce)."""
    if percent is not None and sessions is not None:
        raise click.UsageError("give --percent or --sessions, not both")
    if (userids and no_users) or (departments and no_departments):
        raise click.UsageError("give the new members, or say there are none, not both")
    try:
        rule = _review(ctx).sampling.update_rule(
            current_actor(ctx), name, name=new_name,
            userids=() if no_users else (tuple(userids) or None),
            departments=() if no_departments else (tuple(departments) or None),
            percent=percent, sessions=sessions, enabled=None if disabled is None else not disabled)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Sampling rule changed: {display_name(rule.describe())}.")


@sample.command("rule-disable")
@click.argument("name")
@common
def sample_rule_disable(ctx: AppContext, name) -> None:
    """Disable a sampling rule (administrators); its draws stay."""
    try:
        rule = _review(ctx).sampling.disable_rule(current_actor(ctx), name)
    except ReviewError as exc:
        _fail(exc)
    click.echo(f"Sampling rule {display_name(rule.name)} disabled.")


def _draw_line(d) -> str:
    return (f"{d.id}  {display_name(d.rule)}  week of {_ms_to_text(d.period_start)[:10]}  {d.done}/{d.size} reviewed  "
            f"({d.candidates} candidates, {d.excluded} left out for alerts; seed {d.seed}; drawn by "
            f"{display_name(d.drawn_by)})")


@sample.command("draw")
@click.argument("rule")
@click.option("--week", help="Any day of the week to draw (default: last week).")
@_AS_JSON
@common
def sample_draw(ctx: AppContext, rule, week, as_json) -> None:
    """Draw a rule's sample of a week; it is a review queue (`sample show`)."""
    try:
        d = _review(ctx).sampling.draw(current_actor(ctx), rule, week=_week(week))
    except ReviewError as exc:
        _fail(exc)
    if as_json:
        _json(d)
    else:
        click.echo(_draw_line(d))


@sample.command("list")
@click.option("--mine", is_flag=True, help="Only the samples you drew.")
@click.option("--open", "open_only", is_flag=True, help="Only those not fully reviewed.")
@_AS_JSON
@common
def sample_list(ctx: AppContext, mine, open_only, as_json) -> None:
    """Samples drawn, newest first, with their progress."""
    for d in _review(ctx).sampling.draws(current_actor(ctx), mine=mine, open_only=open_only):
        if as_json:
            _json(d)
        else:
            click.echo(_draw_line(d))


@sample.command("show")
@click.argument("draw_id", type=MAX_ID)
@_AS_JSON
@common
def sample_show(ctx: AppContext, draw_id, as_json) -> None:
    """A sample's conversations in draw order, and whether each is reviewed."""
    try:
        items = _review(ctx).sampling.items(current_actor(ctx), draw_id)
    except ReviewError as exc:
        _fail(exc)
    for i in items:
        if as_json:
            _json(i)
        else:
            done = f"reviewed by {display_name(i.reviewed_by)} {_ms_to_text(i.reviewed_at)}" if i.reviewed else "to review"
            click.echo(f"{i.position:>4}  {display_name(i.session_id)}  {done}")


@sample.command("reproduce")
@click.argument("draw_id", type=MAX_ID)
@_AS_JSON
@common
def sample_reproduce(ctx: AppContext, draw_id, as_json) -> None:
    """Recompute a draw from its seed and candidates (exit 1 if it does not give the stored sample),
    and the candidates from the archive today."""
    try:
        result = _review(ctx).sampling.reproduce(current_actor(ctx), draw_id)
    except ReviewError as exc:
        _fail(exc)
    if as_json:
        _json(result)
    else:
        click.echo(result.describe())
    if not result.same_sample:
        raise SystemExit(1)
