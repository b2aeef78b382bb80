"""Session tree benchmark (run by hand): how fast the tree shows an archive of many sessions, and
the memory it takes.

    python benchmarks/bench_sessions.py [--sessions 50000] [--db sqlite|URL]

Builds a temporary SQLite archive of N sessions (30 % internal, 45 % external, 25 % groups, with a
directory of 2,000 names), then measures in a fresh process, so that building the archive does not
count: constructing the panel (model + view), its first paint (groups and counts), the first page
of each group on screen, a participant filter, and scrolling one page further. Peak RSS is that
process' maximum resident set. Runs offscreen unless a display is set.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import peak_rss_mib, result

ROOT = Path(__file__).resolve().parents[1]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰飞鹏宇浩凯瑶婷雪晨"


def build(data_dir: Path, n: int, seed: int = 7) -> None:
    from app.core.context import AppContext
    from app.core.store.db import now_ms
    from app.core.store.models import Contact, Session
    from app.core.sync.pipeline import ensure_corp
    from app.core.sync.writer import insert_many

    rnd = random.Random(seed)
    ctx = AppContext(data_dir)
    db = ctx.db
    corp = ensure_corp(db, "wwbenchsessions", "Bench Corp")
    staff = [f"user{i:04d}" for i in range(2000)]
    names = {uid: rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.randint(1, 2)))
             for uid in staff}
    rows = []
    start = 1_735_000_000_000
    for i in range(n):
        k = rnd.random()
        if k < 0.30:
            stype, people, room = "internal", rnd.sample(staff, 2), ""
        elif k < 0.75:
            stype, people, room = "external", [rnd.choice(staff), f"wm{i:030d}"], ""
        else:
            stype, people, room = "group", rnd.sample(staff, rnd.randint(3, 12)), f"wr{i:030d}"
        last = start + rnd.randrange(200 * 86_400_000)
        rows.append({"id": db.ids.next_id(), "corp_id": corp, "session_id": f"{i:032x}", "session_type": stype,
                     "roomid": room, "participants": json.dumps(sorted(people), ensure_ascii=False),
                     "first_msgtime": last - 3_600_000, "last_msgtime": last,
                     "message_count": rnd.randint(1, 3000)})
    with db.write() as conn:
        for i in range(0, len(rows), 5000):
            insert_many(conn, Session.__table__, rows[i:i + 5000])
        insert_many(conn, Contact.__table__, [
            {"id": db.ids.next_id(), "corp_id": corp, "userid": uid, "name": name, "kind": "staff",
             "organisation": "", "updated_at": now_ms()} for uid, name in names.items()])
    ctx.close()


def measure(data_dir: Path, filter_text: str) -> dict:
    """Runs in the child process: the figures of one panel on the archive in ``data_dir``."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    qapp = QApplication([])
    rss_app = peak_rss_mib()
    from app.core.actor import Actor
    from app.core.context import AppContext
    from app.ui.sessions import SessionPanel
    from app.ui.sessions.model import PAGE_SIZE

    ctx = AppContext(data_dir)

    class PaintSpy(QObject):
        painted = 0

        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                self.painted += 1
            return False

    heartbeat = QTimer()  # wakes the waiting loop below every 2 ms
    heartbeat.start(2)

    def spin_until(condition, timeout=60.0) -> float:
        """Process events until ``condition()``, sleeping in between as the app's loop does (a busy
        processEvents() loop would hold the GIL and slow the pool threads down)."""
        started = time.perf_counter()
        while not condition():
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"timed out waiting for line {condition.__code__.co_firstlineno}")
            qapp.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        return time.perf_counter() - started

    figures: dict[str, float | int] = {}
    t0 = time.perf_counter()
    panel = SessionPanel(ctx, Actor.local())
    figures["construct_ms"] = (time.perf_counter() - t0) * 1000
    spy = PaintSpy()
    panel.tree.viewport().installEventFilter(spy)
    panel.resize(480, 800)
    panel.show()
    spin_until(lambda: spy.painted > 0)
    figures["first_paint_ms"] = (time.perf_counter() - t0) * 1000
    model = panel.model
    spin_until(lambda: not model.is_loading())
    painted = spy.painted
    panel.tree.viewport().update()
    spin_until(lambda: spy.painted > painted)
    figures["first_pages_shown_ms"] = (time.perf_counter() - t0) * 1000
    groups = [model.index(r, 0) for r in range(model.rowCount())]
    figures["rows_loaded"] = sum(model.rowCount(g) for g in groups)
    figures["sessions"] = model.total_count()

    first = groups[0]
    t1 = time.perf_counter()
    panel.tree.scrollTo(model.index(model.rowCount(first) - 1, 0, first))
    spin_until(lambda: model.rowCount(first) >= 2 * PAGE_SIZE or not model.canFetchMore(first))  # (a small group ends)
    figures["next_page_ms"] = (time.perf_counter() - t1) * 1000

    t2 = time.perf_counter()
    panel.filter_edit.setText(filter_text)
    panel._apply_filter_now()  # the debounce is not what is measured
    spin_until(lambda: model.filter_text == filter_text and not model.is_loading())
    figures["filter_ms"] = (time.perf_counter() - t2) * 1000
    figures["filter_matches"] = model.shown_count()

    t3 = time.perf_counter()
    model._refreshed_at = -1e9  # not throttled: the refresh itself is measured
    panel.refresh()
    spin_until(lambda: not model.is_loading())
    figures["refresh_ms"] = (time.perf_counter() - t3) * 1000
    figures["peak_rss_mb"] = peak_rss_mib()
    figures["qapplication_rss_mb"] = rss_app
    ctx.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=50_000)
    parser.add_argument("--filter", default="王", help="participant filter text to time")
    parser.add_argument("--measure", metavar="DIR", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure), args.filter)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as tmp:
        t = time.perf_counter()
        build(Path(tmp), args.sessions)
        print(f"archive of {args.sessions:,} sessions built in {time.perf_counter() - t:.1f} s")
        out = subprocess.run([sys.executable, __file__, "--measure", tmp, "--filter", args.filter],
                             cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if out.returncode:
            raise SystemExit(f"measuring failed ({out.returncode}):\n{out.stderr[-3000:]}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"sessions in the archive      {figures['sessions']:>10,}")
    print(f"panel constructed            {figures['construct_ms']:>10.0f} ms  (model + view, counts read)")
    print(f"first paint                  {figures['first_paint_ms']:>10.0f} ms  (groups and counts on screen)")
    print(f"first pages shown            {figures['first_pages_shown_ms']:>10.0f} ms  "
          f"({figures['rows_loaded']:,} rows loaded)")
    print(f"next page on scrolling       {figures['next_page_ms']:>10.0f} ms")
    print(f"filter '{args.filter}'{' ' * max(0, 19 - len(args.filter))}  {figures['filter_ms']:>10.0f} ms  "
          f"({figures['filter_matches']:,} sessions match)")
    print(f"refresh (filter on)          {figures['refresh_ms']:>10.0f} ms")
    print(f"peak RSS                     {figures['peak_rss_mb']:>10.0f} MB  "
          f"(QApplication alone: {figures['qapplication_rss_mb']:.0f} MB)")
    result("sessions.first_pages_shown", figures["first_pages_shown_ms"], "ms")
    result("sessions.next_page", figures["next_page_ms"], "ms")
    result("sessions.filter", figures["filter_ms"], "ms")
    result("sessions.peak_rss", figures["peak_rss_mb"], "MB", goal="<400")


if __name__ == "__main__":
    main()
