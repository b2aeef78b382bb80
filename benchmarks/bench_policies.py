"""Review policies benchmark (run by hand): the policy evaluation of a sync's new batch over a large
archive, against the batch's own write time, on SQLite and MariaDB.

    python benchmarks/bench_policies.py [--messages 1000000] [--batch 5000] [--batches 3]
                                        [--backends sqlite,mariadb | --no-mariadb] [--work DIR]

The archive is built as bench_backup.py builds it: a generated corpus of up to 2,000 messages synced
by the app, cloned up to ``--messages`` with the sync writer's bulk insert. Then, as a compliance
team would set it up: the tag 需关注 on a fifth of the sessions and on up to 10,000 messages, and five
policies on schedule ``sync`` — a lexicon (``返现 OR 回扣 OR "私下转账"``), files in external chats
(``session:external type:file``), recalls of messages with attachments (``is:recalled has:media``),
attachments in flagged chats (``tag:需关注 has:media``) and consent refused (``type:disagree``). A
new policy starts at the search journal's head: an evaluation right after it reads nothing.

Each new batch (``--batch`` messages: clones of the corpus' messages with new msgids and times, a
lexicon phrase in every 80th text, every recall pointed at an archived message, half of them with
an attachment) is written as the sync writes it — ``write_batch`` (messages, media rows, recalls,
sessions, checkpoint and search-journal row in one transaction) per 1,000 entries, the SDK's
batch — and the policies are evaluated as the sync's PolicyFollower does (``PolicyEngine.evaluate``):
once after the batch's last write (the follower coalescing a sync batch's writes), or after every
write (the follower keeping up with each commit); the two take turns, ``--batches`` each. Timed:
(a) the writes, (b) the evaluations; the headline is b/a for the batch evaluated once (goal
<= 0.25), beside b/a evaluated after every write (goal < 1: it keeps pace). The search index's
catch-up, which the sync also runs after each write (in a process of its own), is not in (a): the
ratios are against the write transactions alone.

Every batch's hits and alerts are checked against what the batch should raise, computed here by
plain predicates on the stored rows (not the search evaluator): a benchmark that raised nothing, or
too much, fails instead of printing a figure. The first batch warms the caches and is not in the
headline. Peak RSS is the whole process's, archive build included (goal < 400 MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench_backup import T_START, YEAR_MS, _templates, add_messages, mariadb_databases
from results import result

TEMPLATES = 2000  # messages synced by the app; the rest of the archive are clones of them
DAY = 86_400_000
LEXICON = ("返现", "回扣", "私下转账")
FLAG = "需关注"
RATIO_GOAL = 0.25
# How a batch is evaluated: once after its last write (the PolicyFollower coalescing the writes of
# one sync batch), or after every write (the follower evaluating each write as it commits).
MODES = ("every-write", "once")  # batch 0, the warm-up, is evaluated after every write
RSS_GOAL_MIB = 400
# name -> (query, the same condition as a plain predicate on a stored row, for the check)
POLICIES = {
    "lexicon": ('返现 OR 回扣 OR "私下转账"', lambda r, flagged: any(w in (r.content_text or "") for w in LEXICON)),
    "external-files": ("session:external type:file", lambda r, flagged: r.session_type == "external"
                       and r.msgtype == "file"),
    "recalled-attachments": ("is:recalled has:media", lambda r, flagged: r.recalled_at is not None and r.has_media),
    "flagged-attachments": (f"tag:{FLAG} has:media", lambda r, flagged: r.has_media and (
        r.id in flagged[0] or r.session_id in flagged[1])),
    "consent-refused": ("type:disagree", lambda r, flagged: r.msgtype == "disagree"),
}


# ---------------------------------------------------------------- building the archive

def build_archive(data: Path, db_url: str | None, messages: int):
    """(AppContext, templates, corp id) of an archive of ``messages`` messages: a corpus synced by
    the app, then clones of its messages (the templates)."""
    from app.core.context import AppContext
    from app.core.sync.pipeline import ensure_corp
    from native.corpus import generate_corpus

    corpus = data.parent / f"{data.name}-corpus"
    synced = min(TEMPLATES, max(1, messages // 2))  # at least as many clones: the recalls point at clones
    t = time.perf_counter()
    generate_corpus(corpus, messages=synced, seed=13, media=False, overwrite=True)
    (corpus / "truth.json").rename(corpus / "truth.saved.json")  # no directory names: another area's tables
    ctx = AppContext(data, db_url)
    corp, _ = ctx.setup_demo(corpus)
    report = ctx.make_syncer(corp, workers=1, media=False).run()
    if report.error or not report.stored:
        raise SystemExit(f"the sync of the corpus stored {report.stored} messages: {report.error}")
    print(f"synced {report.stored:,} messages in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    templates = _templates(ctx)
    cloned = add_messages(ctx, templates, messages - len(templates), seed=1, t_from=T_START, t_to=T_START + YEAR_MS)
    print(f"cloned {cloned:,} messages in {time.perf_counter() - t:.1f} s", flush=True)
    return ctx, templates, ensure_corp(ctx.db, corp.corpid)


def set_up_review(ctx, corp_id: int, flagged_messages: int) -> tuple[set[int], set[str]]:
    """The tag 需关注 on every fifth session and on every other one of the oldest cloned messages
    (``flagged_messages`` of them), and the policies. Returns the flagged (message ids, sessions)."""
    from sqlalchemy import select

    from app.core.actor import Actor
    from app.core.review import Review
    from app.core.store.models import Message, Session

    review = Review(ctx.db, ctx.trail)
    admin = Actor.local()
    with ctx.db.read() as conn:
        sessions = sorted(conn.execute(select(Session.session_id).where(Session.corp_id == corp_id)).scalars())
        oldest = list(conn.execute(select(Message.id).where(Message.corp_id == corp_id, Message.sync_run_id.is_(None))
                                   .order_by(Message.id).limit(2 * flagged_messages)).scalars())
    flagged_sessions = set(sessions[::5])
    flagged_ids = set(oldest[::2])
    t = time.perf_counter()
    for sid in sorted(flagged_sessions):
        review.tags.tag(admin, FLAG, session=(corp_id, sid))
    if flagged_ids:
        review.tags.tag(admin, FLAG, message_ids=sorted(flagged_ids))
    for name, (query, _check) in POLICIES.items():
        review.policies.create(admin, name, query, schedule="sync")
    print(f"tagged {len(flagged_sessions):,} of {len(sessions):,} sessions and {len(flagged_ids):,} messages "
          f"{FLAG}, created {len(POLICIES)} policies in {time.perf_counter() - t:.1f} s", flush=True)
    return flagged_ids, flagged_sessions


def recall_targets(ctx, corp_id: int, count: int) -> list[tuple[str, bool]]:
    """(msgid, has an attachment) of ``count`` archived clones not recalled, alternately with and
    without an attachment, oldest first."""
    from sqlalchemy import select

    from app.core.store.models import Message

    pools = []
    with ctx.db.read() as conn:
        for media in (True, False):
            pools.append(list(conn.execute(
                select(Message.msgid).where(Message.corp_id == corp_id, Message.sync_run_id.is_(None),
                                            Message.recalled_at.is_(None), Message.has_media == media,
                                            Message.msgtype != "revoke")
                .order_by(Message.id).limit(count // 2 + 1)).scalars()))
    out = []
    for with_media, without in zip(*pools, strict=False):
        out += [(with_media, True), (without, False)]
    return out[:count]


# ---------------------------------------------------------------- one batch, as the sync writes it

def make_batch(templates, n: int, *, first_seq: int, t_from: int, rng: random.Random, targets: list) -> list:
    """``n`` entries (seqs from ``first_seq + 1``) as the sync's decrypt workers hand them to the
    writer (Decrypted), cloned from the templates: new msgids and times, a lexicon phrase in every
    80th text (the first included), every recall pointed at the next of ``targets`` (consumed)."""
    from app.core.messages import parse_message
    from app.core.sdk import ChatDataItem
    from app.core.sdk.decrypt import Decrypted

    out = []
    texts = 0
    for k in range(n):
        tpl, _media = templates[rng.randrange(len(templates))]
        raw = json.loads(tpl["raw_json"])
        msgtime = t_from + k * (DAY // max(n, 1))
        raw["msgid"] = f"{rng.getrandbits(128):032x}_{msgtime}_external"
        raw["msgtime"] = msgtime
        if raw.get("msgtype") == "text" and isinstance(raw.get("text"), dict):
            if texts % 80 == 0:
                raw["text"]["content"] = f"{raw['text'].get('content', '')}，{rng.choice(LEXICON)}的事私聊"
            texts += 1
        if raw.get("msgtype") == "revoke" and isinstance(raw.get("revoke"), dict):
            if not targets:
                continue  # no archived message left to recall: leave this recall out
            raw["revoke"]["pre_msgid"] = targets.pop(0)[0]
        data = json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        parsed = parse_message(data)
        out.append(Decrypted(ChatDataItem(first_seq + len(out) + 1, parsed.msgid, 1, "k", "m"), data,
                             replace(parsed, content=None)))
    return out


def expected(ctx, corp_id: int, items, flagged) -> tuple[dict[str, int], int]:
    """What evaluating a written batch must raise: new hits per policy (every message the batch
    stored, and every older one it recalled, tested with the predicates of POLICIES) and the
    number of distinct alerts (policy, session, local day) they fall in."""
    from sqlalchemy import select

    from app.core.review.policies import local_day
    from app.core.store.models import Message

    msgids = [d.parsed.msgid for d in items] + [d.parsed.recalled_msgid for d in items if d.parsed.recalled_msgid]
    rows = []
    with ctx.db.read() as conn:
        for i in range(0, len(msgids), 500):
            rows += conn.execute(select(Message.id, Message.session_id, Message.msgtime, Message.content_text,
                                        Message.session_type, Message.msgtype, Message.has_media,
                                        Message.recalled_at)
                                 .where(Message.corp_id == corp_id, Message.msgid.in_(msgids[i:i + 500]))).all()
    hits: dict[str, int] = {}
    groups = set()
    for name, (_query, check) in POLICIES.items():
        for r in rows:
            if check(r, flagged):
                hits[name] = hits.get(name, 0) + 1
                groups.add((name, r.session_id, local_day(r.msgtime)))
    return hits, len(groups)


def run_batch(ctx, engine, corp_id: int, items, *, every_write: bool
              ) -> tuple[float, float, dict[str, int], set[int], int]:
    """Write ``items`` as the sync does (write_batch per SDK batch) and evaluate the policies once
    at the end, or after every write (``every_write``). Returns (write seconds, evaluation
    seconds, hits per policy, alert ids, messages evaluated)."""
    from app.core.sync.pipeline import BATCH_LIMIT, checkpoint
    from app.core.sync.writer import write_batch

    write_s = eval_s = 0.0
    hits: dict[str, int] = {}
    alerts: set[int] = set()
    evaluated = 0
    for i in range(0, len(items), BATCH_LIMIT):
        part = items[i:i + BATCH_LIMIT]
        seq = checkpoint(ctx.db, corp_id)
        t = time.perf_counter()
        write_batch(ctx.db, corp_id, seq, seq + len(part), part, None)
        write_s += time.perf_counter() - t
        if not every_write and i + BATCH_LIMIT < len(items):
            continue
        t = time.perf_counter()
        report = engine.evaluate(schedules=("sync",))
        eval_s += time.perf_counter() - t
        for name, n in report.hits.items():
            hits[name] = hits.get(name, 0) + n
        alerts.update(report.raised + report.updated)
        evaluated += report.messages
    return write_s, eval_s, hits, alerts, evaluated


# ---------------------------------------------------------------- the run

def run_backend(name: str, db_url: str | None, args, work: Path) -> None:
    from sqlalchemy import func, select

    from app.core.review import tables as T
    from app.core.review.policies import PolicyEngine
    from app.core.sync.pipeline import checkpoint

    print(f"\n=== {name}: {args.messages:,} messages, batches of {args.batch:,} ===", flush=True)
    ctx, templates, corp_id = build_archive(work / f"data-{name}", db_url, args.messages)
    try:
        flagged = set_up_review(ctx, corp_id, min(10_000, max(1, (args.messages - len(templates)) // 40)))
        engine = PolicyEngine(ctx.db)
        assert engine.evaluate(schedules=("sync",)).messages == 0, "a new policy starts at the journal's head"
        revokes = sum(1 for tpl, _m in templates if tpl["msgtype"] == "revoke") / max(len(templates), 1)
        targets = recall_targets(ctx, corp_id, int(revokes * args.batch * (2 * args.batches + 1) * 2) + 10)
        rng = random.Random(5)
        t_next = T_START + YEAR_MS + DAY
        totals = {mode: [0.0, 0.0] for mode in MODES}  # mode -> [write seconds, evaluation seconds]
        hits_total = 0
        # Batch 0 warms the caches; then the two ways of evaluating take turns, so that both see
        # the same machine (others' work beside this run comes and goes).
        for b in range(2 * args.batches + 1):
            mode = MODES[b % 2]
            items = make_batch(templates, args.batch, first_seq=checkpoint(ctx.db, corp_id), t_from=t_next + b * DAY,
                               rng=rng, targets=targets)
            with ctx.db.read() as conn:
                hits_before = conn.execute(select(func.count()).select_from(T.alert_hits)).scalar_one()
            write_s, eval_s, hits, alerts, evaluated = run_batch(ctx, engine, corp_id, items,
                                                                 every_write=mode == "every-write")
            want, groups = expected(ctx, corp_id, items, flagged)
            with ctx.db.read() as conn:
                hits_after = conn.execute(select(func.count()).select_from(T.alert_hits)).scalar_one()
            recalls = sum(1 for d in items if d.parsed.recalled_msgid)
            print(f"batch {b}{' (warm-up)' if b == 0 else ''}, evaluated {mode}: {len(items):,} messages ({recalls} "
                  f"recalls) written in {write_s * 1000:,.0f} ms, {evaluated:,} evaluated by {len(POLICIES)} policies "
                  f"in {eval_s * 1000:,.0f} ms ({eval_s / write_s:.3f} of the write); hits {hits}, "
                  f"{len(alerts)} alerts raised or added to", flush=True)
            if hits != want or len(alerts) != groups or hits_after - hits_before != sum(want.values()):
                raise SystemExit(f"batch {b}: the policies found {hits} in {len(alerts)} alerts "
                                 f"({hits_after - hits_before} hits stored); the batch holds {want} in {groups}")
            if not want.get("lexicon") or not want.get("recalled-attachments"):
                raise SystemExit(f"batch {b} holds no lexicon phrase or no recalled attachment: make it larger")
            if b:
                totals[mode][0] += write_s
                totals[mode][1] += eval_s
                hits_total += sum(want.values())
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for mode, (write_total, eval_total) in totals.items():
            print(f"evaluated {mode}: {args.batches} batches of {args.batch:,} written in {write_total:.2f} s, "
                  f"policies evaluated in {eval_total:.2f} s = {eval_total / write_total:.3f} of the write time",
                  flush=True)
        print(f"{hits_total:,} hits as expected; peak RSS {rss:,.0f} MiB; load average {os.getloadavg()[0]:.2f}",
              flush=True)
        writes = sum(w for w, _e in totals.values())
        result(f"policies.{name}.batch_write", writes / (2 * args.batches), "s", goal="")
        w, e = totals["once"]
        result(f"policies.{name}.evaluation", e / args.batches, "s", ratio=e / w, goal=f"<= {RATIO_GOAL}")
        w, e = totals["every-write"]
        result(f"policies.{name}.evaluation_every_write", e / args.batches, "s", ratio=e / w, goal="< 1")
        result(f"policies.{name}.hits", hits_total, "messages", goal=f"== {hits_total}")
        result(f"policies.{name}.peak_rss", rss, "MiB", goal=f"< {RSS_GOAL_MIB} MiB")
    finally:
        ctx.close()


def main() -> None:
    # Never the real user's keyring or data: throw-away folders, no keyring.
    os.environ.setdefault("WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE", "benchmark-only-passphrase")
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000, help="messages in the archive")
    ap.add_argument("--batch", type=int, default=5000, help="messages of one sync's new batch")
    ap.add_argument("--batches", type=int, default=3,
                    help="batches timed each way (evaluated once, and after every write), after one that warms up")
    ap.add_argument("--backends", default="sqlite,mariadb")
    ap.add_argument("--no-mariadb", action="store_true", help="SQLite only")
    ap.add_argument("--work", type=Path, help="work here (default: a temporary folder)")
    args = ap.parse_args()
    backends = [b for b in args.backends.split(",") if b and not (args.no_mariadb and b == "mariadb")]
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-policies-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["WECOM_AUDITOR_DATA_DIR"] = str(work / "unused-data")
    try:
        for name in backends:
            if name == "sqlite":
                run_backend(name, None, args, work)
            elif name == "mariadb":
                with mariadb_databases(1) as (url,):
                    run_backend(name, url, args, work)
            else:
                raise SystemExit(f"unknown backend {name!r} (sqlite, mariadb)")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
