"""PDF transcripts rendered beside the export: each conversation's PDF volume(s) from its spooled
entries, in this process or in child processes working in parallel (one per core, at most
:data:`MAX_WORKERS`), so that a large export with PDFs uses the computer's cores.

:func:`render_conversation` is the one renderer (both ways give the same files). :class:`PdfRenderers`
hands conversations to child processes (``python -m app.core.export.pdf_process``, started like
every child of the app: app.core.processes) and gives back each conversation's volumes in the
order the conversations were handed out, whatever order the children finish in: the package's
manifest and its custody count stay the same as with one process. A child only reads the spool
and writes PDF files into the staging folder the export made (0700); it opens no database and
reads no secret. A failing or dying child fails the export (ExportError in the caller).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.core.processes import Channel, ChannelClosed, child_command, child_environment, describe_exit

from .pdf import PdfFonts, PdfMedia, PdfTranscriptWriter, TranscriptHeader, warm_up

MODULE = "app.core.export.pdf_process"
MAX_WORKERS = 2  # the machine has 2 cores; more children would only share them
MIN_MESSAGES_FOR_WORKERS = 1500  # below this, starting children costs more than it saves
TRANSCRIPTS_DIR = "data/transcripts/"


@dataclass(frozen=True)
class RenderJob:
    """One conversation's PDF: its spooled entries (package.py's spool format), where the bag is
    (``root``), the file name stem (``sdir``) and the volume size."""

    fonts: PdfFonts
    header: TranscriptHeader
    spool: str
    root: str
    sdir: str
    per_volume: int


@dataclass(frozen=True)
class Volume:
    rel: str  # data/transcripts/<sdir>.pdf, <sdir>-2.pdf, ...
    pages: int


def volume_rel(sdir: str, number: int) -> str:
    return f"{TRANSCRIPTS_DIR}{sdir}.pdf" if number == 1 else f"{TRANSCRIPTS_DIR}{sdir}-{number}.pdf"


def render_conversation(job: RenderJob, cancelled: Callable[[], bool] | None = None) -> list[Volume]:
    """Write the PDF volume(s) of one conversation under ``job.root``; returns them in order."""
    root = Path(job.root)
    written: list[str] = []
    writer = PdfTranscriptWriter(job.fonts, job.header, lambda n: (volume_rel(job.sdir, n),
                                                                   root / volume_rel(job.sdir, n)),
                                 lambda rel, _path: written.append(rel), per_volume=job.per_volume)
    with open(job.spool, encoding="utf-8") as entries:
        for line in entries:
            if cancelled is not None and cancelled():
                return []
            e = json.loads(line)
            if "session_review" in e:  # the conversation's own review, under the header
                writer.session_review = e["session_review"]
                continue
            if e.get("gap"):
                writer.gap()
                continue
            media = e.pop("media")
            native = e.pop("native_path")
            e["recipients"] = tuple(e["recipients"])
            e["recipient_names"] = tuple(e["recipient_names"])
            e["hit_spans"] = tuple(tuple(s) for s in e["hit_spans"])
            writer.message(**e, native_path=native,
                           media=[PdfMedia(kind=m["kind"], label=m["label"], native_path=m["path"],
                                           is_image=m["is_image"], source=(root / m["path"]) if m["path"] else None)
                                  for m in media])
    writer.close()
    pages = {v.rel: v.pages for v in writer.volumes}
    return [Volume(rel, pages[rel]) for rel in written]


class PdfRenderers:
    """``workers`` child processes rendering conversations (see the module docstring). Use as a
    context manager; :meth:`submit` hands a conversation out (blocking while every child has two
    waiting), :meth:`results` yields ``(tag, volumes)`` in submission order as they are done."""

    def __init__(self, workers: int, cancelled: Callable[[], bool] | None = None) -> None:
        self._children: list[tuple[subprocess.Popen[bytes], Channel]] = []
        self._cancelled = cancelled
        self._queue: deque[tuple[object, int]] = deque()  # (tag, child) in submission order
        self._waiting: list[int] = []  # jobs each child has not answered yet
        self._done: dict[int, tuple[object, list[Volume]]] = {}  # answered out of order, by job number
        self._next_job = 0
        self._next_result = 0
        env = child_environment()
        for _ in range(workers):
            proc = subprocess.Popen(child_command(MODULE), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                    close_fds=True)
            assert proc.stdin is not None and proc.stdout is not None  # PIPE
            self._children.append((proc, Channel(proc.stdout, proc.stdin)))
            self._waiting.append(0)
        self._jobs: dict[int, tuple[object, int]] = {}  # job number -> (tag, child)

    def __enter__(self) -> PdfRenderers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(kill=exc[0] is not None)

    def submit(self, tag: object, job: RenderJob) -> Iterator[tuple[object, list[Volume]]]:
        """Hand ``job`` to the least busy child; yields the results that became due meanwhile."""
        while min(self._waiting) >= 2:  # keep every child busy, never more than two jobs ahead
            yield from self._collect(block=True)
        child = self._waiting.index(min(self._waiting))
        number = self._next_job
        self._next_job += 1
        self._jobs[number] = (tag, child)
        self._send(child, ("render", number, job))
        self._waiting[child] += 1
        yield from self._collect(block=False)

    def results(self) -> Iterator[tuple[object, list[Volume]]]:
        """Every remaining result, in submission order."""
        while self._next_result < self._next_job:
            yield from self._collect(block=True)

    def _collect(self, *, block: bool) -> Iterator[tuple[object, list[Volume]]]:
        if block and self._next_result not in self._done:
            self._receive_one()
        while self._next_result in self._done:
            yield self._done.pop(self._next_result)
            self._next_result += 1

    def _receive_one(self) -> None:
        """Wait for the child holding the oldest unanswered job (answers come back in each child's
        order, so the oldest job's child answers it next)."""
        from .package import ExportCancelled, ExportError

        _tag, child = self._jobs[self._next_result]  # the oldest job: its child answers it next
        proc, channel = self._children[child]
        try:
            answer = channel.receive()
        except ChannelClosed:
            code = proc.poll()
            raise ExportError(f"a PDF rendering process ended unexpectedly ({describe_exit(code)})",
                              f"一个 PDF 生成进程意外结束（{describe_exit(code)}）") from None
        kind, done_number = answer[0], answer[1]
        self._waiting[child] -= 1
        if kind == "failed":
            raise ExportError(f"a PDF transcript could not be written: {answer[2]}",
                              f"一份 PDF 记录未能写出：{answer[2]}")
        tag, _ = self._jobs.pop(done_number)
        self._done[done_number] = (tag, answer[2])
        if self._cancelled is not None and self._cancelled():
            raise ExportCancelled("the export was cancelled", "导出已取消")

    def _send(self, child: int, message: object) -> None:
        from .package import ExportError

        proc, channel = self._children[child]
        try:
            channel.send(message)
        except ChannelClosed:
            raise ExportError(f"a PDF rendering process ended unexpectedly ({describe_exit(proc.poll())})",
                              f"一个 PDF 生成进程意外结束（{describe_exit(proc.poll())}）") from None

    def close(self, *, kill: bool = False) -> None:
        for proc, channel in self._children:
            if kill:
                with contextlib.suppress(OSError):
                    proc.kill()
            else:
                with contextlib.suppress(ChannelClosed):
                    channel.send(None)
            channel.close()
        for proc, _channel in self._children:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._children = []


def workers_for(messages: int, requested: int | None) -> int:
    """How many child processes render an export's PDFs: ``requested`` when given (0: in this
    process), else one per core up to MAX_WORKERS for an export of MIN_MESSAGES_FOR_WORKERS or more."""
    if requested is not None:
        return max(0, min(requested, 8))
    if messages < MIN_MESSAGES_FOR_WORKERS:
        return 0
    return max(0, min(MAX_WORKERS, os.cpu_count() or 1))


def _serve(channel: Channel) -> None:
    warm_up()  # started before the export's first pass: ready when the first conversation comes
    while True:
        message = channel.receive()
        if message is None:
            return
        _kind, number, job = message
        try:
            volumes = render_conversation(job)
        except Exception as exc:  # reported to the parent, which fails the export with it
            channel.send(("failed", number, f"{type(exc).__name__}: {exc}"))
            continue
        channel.send(("done", number, volumes))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl+C means
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nothing but the protocol on the pipe
    sys.stdout = sys.stderr
    with contextlib.suppress(ChannelClosed):
        _serve(Channel(proto_in, proto_out))


if __name__ == "__main__":
    # Run as the named module, not __main__: the Volumes sent back are unpickled by that name.
    from app.core.export.pdf_process import main as _main

    _main()
