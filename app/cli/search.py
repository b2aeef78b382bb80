"""Commands for search: search, reindex."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime

import click

from app.core.context import AppContext
from app.core.safe_text import display_text, json_line

from .base import LIMIT, _ms_to_text, common, current_actor, main

_LONG_OPTION = re.compile(r"--[A-Za-z][A-Za-z0-9-]*")


class _QueryCommand(click.Command):
    """A command whose QUERY words may start with '-' (`search -取消 合同`: an exclusion, as the
    README writes it) without being taken for options. A `--word` that is not one of the command's
    options before `--` is still refused as a mistyped option, not searched for silently."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("context_settings", {})["ignore_unknown_options"] = True
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        import difflib

        known = {opt for p in self.params for opt in (*p.opts, *p.secondary_opts)}
        known |= set(self.get_help_option_names(ctx))
        for arg in args[: args.index("--")] if "--" in args else args:
            name = arg.split("=", 1)[0]
            if _LONG_OPTION.fullmatch(name) and name not in known:
                raise click.NoSuchOption(name, message=f"no such option: {name} (to search for a word that starts "
                                         f"with '--', put `--` before the query)",
                                         possibilities=difflib.get_close_matches(name, sorted(known)), ctx=ctx)
        return super().parse_args(ctx, args)


@main.command(cls=_QueryCommand)
@click.argument("query_words", metavar="QUERY", nargs=-1, required=True)
@click.option("--limit", type=LIMIT, default=50, show_default=True)
@click.option("--order", type=click.Choice(["newest", "oldest", "session"]), default="newest", show_default=True)
@click.option("--count", "with_count", is_flag=True, help="Print the total number of matches as well.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit (with the match offsets).")
@common
def search(ctx: AppContext, query_words: tuple[str, ...], limit: int, order: str, with_count: bool,
           as_json: bool) -> None:
    """Search the archive. QUERY: terms (all must match), OR, -term / NOT term, "a phrase",
    (groups), from:ID to:ID in:SESSION room:ROOMID type:TYPE session:internal|external|group,
    date:2025-01-01..2025-03-31, after:DATE, before:DATE, has:media, is:recalled.

    QUERY may be several words (`search 合同 -取消`); quote a phrase for the shell as well
    (`search '"退款 申请"'`)."""
    from app.core.search import QueryError

    from .directory import NameBook

    query_text = " ".join(query_words)
    service, actor = ctx.search, current_actor(ctx)
    names = NameBook(ctx, actor)
    try:
        hits = service.query(actor, query_text, limit=limit, order=order, record=True)
        total = service.query_count(actor, query_text) if with_count else None
    except QueryError as exc:
        click.echo(exc.terminal_pointer(), err=True)
        raise click.ClickException(exc.message + f" (at character {exc.position + 1})") from None
    for h in hits:
        m = h.message
        if as_json:
            click.echo(json_line({"corpid": names.corpid(m.corp_id), "msgid": m.msgid, "session_id": m.session_id,
                                   "session_type": m.session_type, "msgtime": m.msgtime, "msgtype": m.msgtype,
                                   "from": m.sender, "from_name": names.fields(m.corp_id, m.sender, m.msgtime),
                                   "tolist": list(m.tolist),
                                   "tolist_names": [names.fields(m.corp_id, t, m.msgtime) for t in m.tolist],
                                   "roomid": m.roomid,
                                   "room_name": names.fields(m.corp_id, m.roomid, m.msgtime)["name"] if m.roomid
                                   else None, "recalled_at": m.recalled_at,
                                   "text": m.content_text, "offsets": [list(o) for o in h.offsets]}))
        else:
            text = m.content_text  # (the offsets are into it: each piece is neutralised on its own)
            marked, last = [], 0
            for a, b in h.offsets:
                marked += [display_text(text[last:a], one_line=True), "[", display_text(text[a:b], one_line=True), "]"]
                last = b
            marked.append(display_text(text[last:], one_line=True))
            recalled = " [已撤回 recalled]" if m.recalled_at else ""
            click.echo(f"{_ms_to_text(m.msgtime)}  {names.corpid(m.corp_id)}  "
                       f"{names.text(m.corp_id, m.sender, m.msgtime):<28}  {''.join(marked)[:200]}{recalled}")
    if total is not None:
        if as_json:
            click.echo(json.dumps({"total": total}))
        else:
            click.echo(f"{total} message(s) match.", err=True)


@main.command()
@click.option("--catch-up", "catch_up", is_flag=True,
              help="Only index what is new since the last update (instead of rebuilding).")
@common
def reindex(ctx: AppContext, catch_up: bool) -> None:
    """Rebuild the search index from the stored messages (searches use the old one meanwhile)."""
    from tqdm import tqdm

    from app.core.search import IndexBusy

    service, actor = ctx.search, current_actor(ctx)
    bar = tqdm(desc="indexing", unit="msg", file=sys.stderr, dynamic_ncols=True, disable=not sys.stderr.isatty())

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    started = datetime.now()
    try:
        n = service.reindex(actor, progress=progress, only_new=catch_up)
    except IndexBusy:
        raise click.ClickException("another process is updating the search index right now; try again "
                                   "when it has finished") from None
    finally:
        bar.close()
    seconds = (datetime.now() - started).total_seconds()
    click.echo(f"Indexed {n} message(s) in {seconds:.1f}s; index at {service.index.dir} "
               f"({service.index.size_bytes() / 2**20:.1f} MiB).")
