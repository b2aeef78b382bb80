"""Message viewer benchmark (run by hand): one session of 200,000 messages.

    python benchmarks/bench_viewer.py [--messages 200000] [--scroll-pages 60] [--keep DIR]

Builds a single-session archive in a temporary SQLite file (write_batch, 5,000 synthetic messages
per batch: mostly text, some links, files and recalls), then, with an offscreen MessageViewer:
  - open: the time to open it at its newest message (first page loaded, laid out, scrolled to the
    bottom);
  - scrolling: a user scrolling up steadily, one screen every 50 ms (20 screens a second, faster
    than anyone reads), for --scroll-pages pages: the wait at the top of the window for the next
    page to show (the viewer prefetches and lays out the page beyond the window before the user gets
    there, so the goal is no visible wait), and the longest stall of the GUI thread meanwhile (a
    10 ms timer's largest gap);
  - cold pages: from there to the session's very first message with the scroll bar dragged to the
    top again as soon as each page shows (nothing can be prefetched in time: every page is read and
    laid out while the user waits); the worst case, reported without a goal;
  - the rows the model holds at the end (bounded by MAX_ROWS) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from results import result

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH = 5000


def _raw(i: int, base: int) -> bytes:
    sender, to = ("zhangwei", "wmkILR0BAAEW3AAhCDcwgGcV5l3O4hwf") if i % 3 else \
        ("wmkILR0BAAEW3AAhCDcwgGcV5l3O4hwf", "zhangwei")
    msgid = f"bench-{i:07d}_external"
    body = {"msgid": msgid, "action": "send", "from": sender, "tolist": [to], "roomid": "",
            "msgtime": base + i * 37_000, "msgtype": "text"}
    if i % 50 == 7:
        body["msgtype"] = "link"
        body["link"] = {"title": f"报价单 {i}", "description": "请查收本周报价，有问题随时沟通",
                        "link_url": f"https://crm.example/quote/{i}", "image_url": ""}
    elif i % 97 == 11:
        body["msgtype"] = "file"
        body["file"] = {"filename": f"合同-{i}.pdf", "fileext": "pdf", "filesize": 1000 + i, "md5sum": "",
                        "sdkfileid": f"sdk-{i}"}
    else:
        body["text"] = {"content": f"第 {i} 条消息：好的，我们下午三点在会议室讨论合同细节。" + ("稍后发你。" * (i % 4))}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def build(path: Path, n: int):
    from app.core.context import AppContext
    from app.core.messages import parse_message
    from app.core.sdk import ChatDataItem
    from app.core.sdk.decrypt import Decrypted
    from app.core.sync.pipeline import ensure_corp
    from app.core.sync.writer import write_batch

    ctx = AppContext(path / "data", f"sqlite:///{path / 'archive.db'}")
    corp = ensure_corp(ctx.db, "wwbenchviewer", "Bench")
    base = 1_700_000_000_000
    seq = 0
    for start in range(0, n, BATCH):
        items = []
        for i in range(start, min(n, start + BATCH)):
            seq += 1
            raw = _raw(i, base)
            p = parse_message(raw)
            items.append(Decrypted(ChatDataItem(seq, p.msgid, 1, "k", "m"), raw, p))
        write_batch(ctx.db, corp, seq - len(items), seq, items, None)
    return ctx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--scroll-pages", type=int, default=60, help="pages scrolled through at a steady pace")
    parser.add_argument("--keep", type=Path, help="build the archive here and keep it")
    args = parser.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from app.core.actor import Actor
    from app.ui.app import freeze_startup_objects
    from app.ui.tasks import wait_for_tasks
    from app.ui.viewer import MessageViewer
    from app.ui.viewer.model import MAX_ROWS, PAGE_SIZE

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if (folder / "archive.db").exists():  # --keep of an earlier run: opened as it is
        from app.core.context import AppContext

        ctx = AppContext(folder / "data", f"sqlite:///{folder / 'archive.db'}")
        print(f"archive     {folder / 'archive.db'} as an earlier run built it")
    else:
        ctx = build(folder, args.messages)
        print(f"archive     {args.messages:,} messages in one session, built in {time.perf_counter() - t0:.1f} s")

    actor = Actor.local()
    viewer = MessageViewer(ctx, actor)
    viewer.resize(900, 1000)
    viewer.show()
    freeze_startup_objects()  # as the app does once its window is up
    model, bar = viewer.model, viewer.view.verticalScrollBar()
    session = ctx.archive.sessions(actor)[0]

    def wait(signal, start) -> None:
        fired: list = []

        def slot(*args) -> None:
            fired.append(args)

        signal.connect(slot)
        start()
        while not fired:
            app.processEvents()
            time.sleep(0.0005)
        signal.disconnect(slot)

    t0 = time.perf_counter()
    wait(model.window_opened, lambda: viewer.show_session(session.corp_id, session.session_id))
    app.processEvents()
    opened = time.perf_counter() - t0
    print(f"open        {opened * 1000:.0f} ms to the newest {model.rowCount()} rows "
          f"(page {PAGE_SIZE}, window at most {MAX_ROWS})")

    # A user scrolling up steadily, one screen every 50 ms; a 10 ms timer measures the GUI's stalls.
    gaps, last_tick = [0.0], [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last_tick[0])
        last_tick[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    shown = [0]
    model.window_changed.connect(lambda: shown.__setitem__(0, shown[0] + 1))
    waits: list[float] = []
    t0 = time.perf_counter()
    timer.start(10)
    while shown[0] < args.scroll_pages and model.has_more_before:
        if bar.value() == 0:  # at the top of the window: the user waits for the page before it
            before, t = shown[0], time.perf_counter()
            while shown[0] == before:
                app.processEvents()
                time.sleep(0.0005)
            waits.append(time.perf_counter() - t)
            continue
        bar.triggerAction(bar.SliderAction.SliderPageStepSub)  # Page Up: a screen (the user's action)
        until = time.perf_counter() + 0.05
        while time.perf_counter() < until:
            app.processEvents()
            time.sleep(0.001)
    timer.stop()
    scrolled = time.perf_counter() - t0
    waits.sort()
    wait_p95 = waits[min(len(waits) - 1, int(len(waits) * 0.95))] * 1000 if waits else 0.0
    stall = max(gaps) * 1000
    print(f"scrolling   {shown[0]} pages in {scrolled:.1f} s at 20 screens a second: waited at the top {len(waits)} "
          f"times (p95 {wait_p95:.1f} ms, longest {waits[-1] * 1000 if waits else 0:.1f} ms); "
          f"longest GUI stall {stall:.0f} ms")

    t0 = time.perf_counter()
    pages = 0
    while model.has_more_before:
        wait(model.window_changed, lambda: bar.triggerAction(bar.SliderAction.SliderToMinimum))
        pages += 1
        if pages % 100 == 0:
            print(f"  … {pages} pages, {time.perf_counter() - t0:.1f} s", flush=True)
    top = time.perf_counter() - t0
    assert model.message_at(0).msgid == "bench-0000000_external"
    cold = top / max(1, pages) * 1000
    print(f"cold pages  {top:.1f} s for {pages} pages to the first message ({cold:.0f} ms a page, "
          f"dragged to the top at once); the model holds {model.rowCount()} rows")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS    {peak_kb / 1024:.0f} MiB")
    result("viewer.open", opened * 1000, "ms", goal="<=100")
    result("viewer.page_wait_p95", wait_p95, "ms", goal="<=30")
    result("viewer.scroll_stall", stall, "ms", goal="<=100")
    result("viewer.page_cold", cold, "ms")
    result("viewer.peak_rss", peak_kb / 1024, "MiB", goal="<400")
    wait_for_tasks()
    viewer.close()
    ctx.close()
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
