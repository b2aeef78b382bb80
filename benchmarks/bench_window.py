"""Main window benchmark (run by hand): the whole window over a large archive, and its memory.

    python benchmarks/bench_window.py [--messages 1000000] [--sessions 100000] [--keep DIR]

Builds a SQLite archive of ``--messages`` messages in ``--sessions`` conversations, written as the
sync writes them (write_batch, 5,000 a batch: one-to-one chats with staff and customers, and groups;
every conversation has a message, the rest fall on a few large conversations and a long tail), and
indexes it for search. Then, in a fresh process so that building it does not count, the main window
as `wecom-auditor gui` opens it, offscreen:
  - shown: from constructing the window to the session tree's first pages painted;
  - open: the largest conversation opened at its newest messages, then 20 older pages;
  - search: a word searched in the search panel, to its first page and to its exact count;
  - filter: the session tree filtered by a participant;
and the window process's peak resident memory (the goal: < 400 MiB with 1,000,000 messages in
100,000 conversations). Times are printed for orientation; the memory is the figure with a goal.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import peak_rss_mib, result

ROOT = Path(__file__).resolve().parents[1]
BATCH = 5000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
WORDS = ("好的", "合同", "报价", "发票", "会议", "明天", "下午", "客户", "付款", "确认", "样品", "发货", "价格", "折扣",
         "方案", "审批", "收到", "谢谢", "麻烦", "尽快", "邮件", "附件", "签字", "盖章", "退款", "售后", "安装", "培训")
SEARCHED = "发票"


def _conversations(n: int, rng: random.Random) -> list[tuple[list[str], str]]:
    """(participants, roomid) of ``n`` conversations: 30 % between staff, 45 % with a customer, 25 % groups."""
    staff = [f"user{i:04d}" for i in range(2000)]
    out = []
    for i in range(n):
        k = rng.random()
        if k < 0.30:
            out.append((rng.sample(staff, 2), ""))
        elif k < 0.75:
            out.append(([rng.choice(staff), f"wm{i:030d}"], ""))
        else:
            out.append((rng.sample(staff, rng.randint(3, 12)), f"wr{i:030d}"))
    return out


def _raw(i: int, when: int, people: list[str], roomid: str, rng: random.Random) -> bytes:
    sender = rng.choice(people)
    body = {"msgid": f"win-{i:08d}", "action": "send", "from": sender, "tolist": [p for p in people if p != sender],
            "roomid": roomid, "msgtime": when, "msgtype": "text",
            "text": {"content": "，".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8)))}}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def build(data: Path, messages: int, sessions: int, seed: int = 7) -> None:
    from app.core.actor import Actor
    from app.core.config.settings import CorpSettings
    from app.core.context import AppContext
    from app.core.messages import parse_message
    from app.core.sdk import ChatDataItem
    from app.core.sdk.decrypt import Decrypted
    from app.core.store.db import now_ms
    from app.core.store.models import Contact
    from app.core.sync.pipeline import ensure_corp
    from app.core.sync.writer import insert_many, write_batch

    rng = random.Random(seed)
    convs = _conversations(sessions, rng)
    # Every conversation gets a message; the rest follow a Zipf-like law (the largest ~10 %).
    weights = [1 / (k + 1) ** 1.1 for k in range(sessions)]
    picks = list(range(sessions)) + rng.choices(range(sessions), weights=weights, k=max(0, messages - sessions))
    rng.shuffle(picks)
    ctx = AppContext(data)
    corp = ensure_corp(ctx.db, "wwbenchwindow", "Bench Corp")
    ctx.settings.upsert_corp(CorpSettings("wwbenchwindow", "Bench Corp"))  # the window shows the archive, not the welcome
    ctx.save()
    with ctx.db.write() as conn:
        insert_many(conn, Contact.__table__, [
            {"id": ctx.db.ids.next_id(), "corp_id": corp, "userid": f"user{i:04d}",
             "name": rng.choice(SURNAMES) + rng.choice(WORDS), "kind": "staff", "organisation": "",
             "updated_at": now_ms()} for i in range(2000)])
    base = 1_700_000_000_000
    t0 = time.perf_counter()
    for start in range(0, len(picks), BATCH):
        items = []
        for i in range(start, min(len(picks), start + BATCH)):
            people, roomid = convs[picks[i]]
            raw = _raw(i, base + i * 30_000, people, roomid, rng)
            p = parse_message(raw)
            items.append(Decrypted(ChatDataItem(i + 1, p.msgid, 1, "k", "m"), raw, p))
        write_batch(ctx.db, corp, start, start + len(items), items, None)
        if start % 100_000 == 0:
            print(f"  {start:,}/{len(picks):,} written, {time.perf_counter() - t0:.0f} s", flush=True)
    t1 = time.perf_counter()
    indexed = ctx.search.reindex(Actor.local())
    print(f"archive     {len(picks):,} messages in {sessions:,} conversations written in {t1 - t0:.0f} s, "
          f"{indexed:,} indexed in {time.perf_counter() - t1:.0f} s", flush=True)
    ctx.close()


def measure(data: Path) -> dict[str, float]:
    """In the child process: the figures of one main window on the archive in ``data``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    qapp = QApplication([])
    from app.core.actor import Actor
    from app.core.context import AppContext
    from app.ui.app import add_shipped_fonts, freeze_startup_objects
    from app.ui.main_window import MainWindow
    from app.ui.tasks import wait_for_tasks

    add_shipped_fonts()
    actor = Actor.local()

    def spin_until(condition, what: str, timeout: float = 300.0) -> None:
        started = time.perf_counter()
        while not condition():
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"timed out waiting for {what}")
            qapp.processEvents()
            time.sleep(0.001)

    figures: dict[str, float] = {}

    def peak(step: str) -> None:  # the peak so far, after each step (which step the memory goes to)
        figures[f"peak_after_{step}_mib"] = peak_rss_mib()

    peak("start")
    t0 = time.perf_counter()
    ctx = AppContext(data)
    window = MainWindow(ctx, actor)
    window.resize(1400, 900)
    window.show()
    sessions = window.sessions
    assert sessions is not None and window.viewer is not None
    spin_until(lambda: not sessions.model.is_loading() and sessions.model.total_count() > 0, "the session tree")
    qapp.processEvents()
    figures["shown_ms"] = (time.perf_counter() - t0) * 1000
    peak("shown")
    freeze_startup_objects()  # as the app does once its window is up

    largest = ctx.archive.sessions(actor, order="most", limit=1)[0]
    model, bar = window.viewer.model, window.viewer.view.verticalScrollBar()
    opened: list = []
    model.window_opened.connect(lambda *_: opened.append(1))
    t0 = time.perf_counter()
    sessions.select_session(largest.corp_id, largest.session_id, emit=True)
    spin_until(lambda: opened, "the largest conversation")
    figures["open_ms"] = (time.perf_counter() - t0) * 1000
    peak("open")
    changed: list = []
    model.window_changed.connect(lambda *_: changed.append(1))
    t0 = time.perf_counter()
    for n in range(20):
        if not model.has_more_before:
            break
        bar.triggerAction(bar.SliderAction.SliderToMinimum)
        spin_until(lambda n=n: len(changed) > n, "an older page")
    figures["older_pages_ms"] = (time.perf_counter() - t0) * 1000
    peak("older_pages")

    search = window.search
    counted: list = []
    search.count_finished.connect(lambda _g, n: counted.append(n))
    search.query_edit.setText(SEARCHED)
    t0 = time.perf_counter()
    assert search.search()
    spin_until(lambda: search.model.rowCount() > 0, "the first page of hits")
    figures["search_first_page_ms"] = (time.perf_counter() - t0) * 1000
    spin_until(lambda: counted, "the count of hits")
    figures["search_count_ms"] = (time.perf_counter() - t0) * 1000
    figures["search_hits"] = counted[0]
    peak("search")

    t0 = time.perf_counter()
    sessions.filter_edit.setText(SURNAMES[0])
    sessions._apply_filter_now()  # the debounce is not what is measured
    spin_until(lambda: sessions.model.filter_text == SURNAMES[0] and not sessions.model.is_loading(), "the filter")
    figures["filter_ms"] = (time.perf_counter() - t0) * 1000
    figures["sessions"] = sessions.model.total_count()
    peak("filter")
    wait_for_tasks()
    figures["peak_rss_mib"] = peak_rss_mib()
    window.close()
    ctx.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the archive here and keep it (reused if it exists)")
    parser.add_argument("--measure", metavar="DIR", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-window-"))
    data = folder / "data"
    if not (data / "built").exists():
        shutil.rmtree(data, ignore_errors=True)
        build(data, args.messages, min(args.sessions, args.messages))
        (data / "built").write_text(f"{args.messages} {args.sessions}")
    else:
        print(f"archive     {data} as an earlier run built it ({(data / 'built').read_text()})")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)])}
    out = subprocess.run([sys.executable, __file__, "--measure", str(data)], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the window process failed:\n{out.stderr[-3000:]}")
    f = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"window      shown with the session tree's first pages in {f['shown_ms']:.0f} ms "
          f"({f['sessions']:,.0f} conversations)")
    print(f"open        the largest conversation in {f['open_ms']:.0f} ms; 20 older pages in {f['older_pages_ms']:.0f} ms")
    print(f"search      '{SEARCHED}': first page {f['search_first_page_ms']:.0f} ms, count "
          f"({f['search_hits']:,.0f} hits) {f['search_count_ms']:.0f} ms")
    print(f"filter      the tree by '{SURNAMES[0]}' in {f['filter_ms']:.0f} ms")
    steps = [k.removeprefix("peak_after_").removesuffix("_mib") for k in f if k.startswith("peak_after_")]
    print(f"peak RSS    {f['peak_rss_mib']:.0f} MiB (the window process); after each step: "
          + ", ".join(f"{step} {f[f'peak_after_{step}_mib']:.0f}" for step in steps))
    result("window.shown", f["shown_ms"], "ms")
    result("window.open_largest", f["open_ms"], "ms")
    result("window.search_first_page", f["search_first_page_ms"], "ms")
    result("window.filter", f["filter_ms"], "ms")
    result("window.peak_rss", f["peak_rss_mib"], "MiB", goal="<400")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
