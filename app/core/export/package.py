"""Evidence packages: a BagIt bag (RFC 8493) of what a reviewer selected, written by our own small
writer, signed with the workstation's export key and recorded in the archive's ``exports`` table.

The bag is built in a hidden staging folder ``.<out>.export-<random>`` (mode 0700) beside ``<out>``
and renamed to ``<out>`` only when complete and recorded, so a cancelled, failed or killed export
never leaves something that looks like a package, nor plaintext others can read; what a killed one
leaves is removed by :func:`clean_interrupted_exports`. Messages are read in pages and media
streamed, so memory stays bounded whatever the size of the selection.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import secrets as _secrets
import shutil
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo
from importlib import metadata
from pathlib import Path

from sqlalchemy import func, insert, select

from app.core.actor import Actor
from app.core.archive import MessageRow, session_messages
from app.core.errors import SaidInTwoLanguages
from app.core.review.evidence import ReviewEvidence
from app.core.store.db import now_ms
from app.core.store.models import STORED, Export, Message

from . import pdf as pdf_module
from .html import IndexEntry, MediaLink, TranscriptWriter, write_index
from .loadfile import LoadFileWriter
from .pdf import (
    PdfFontError,
    PdfFonts,
    TranscriptHeader,
    find_fonts,
    subset_fonts,
)
from .signing import load_or_create_export_key

log = logging.getLogger(__name__)

PAGE = 500
DEFAULT_CONTEXT_HOURS = 12.0  # Purview rebuilds chat transcripts of a hit ±12 hours
TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "VERIFY.txt", "export-public-key.pem")
SIGNATURE_FILE, PUBLIC_KEY_FILE = "signature-ed25519.sig", "export-public-key.pem"
TRANSCRIPTS_DIR = "data/transcripts/"
_HEX32 = re.compile(r"[0-9a-f]{32}")
_EXT = re.compile(r"[A-Za-z0-9]{1,10}")
_IMAGE_EXTS = {"jpg", "jpeg", "png", "gif", "webp", "bmp"}


class ExportError(SaidInTwoLanguages, RuntimeError):
    """The export could not be made (the message says why, in English and Chinese)."""


class ExportCancelled(ExportError):
    """The export was cancelled; nothing was left at the output path."""


@dataclass(frozen=True)
class Selection:
    """What to export: sessions (optionally within ``[start_ms, end_ms)``), the hits of a query, or
    messages by msgid. Hits and picked messages come with their conversation ±``context_hours``."""

    session_ids: tuple[str, ...] = ()
    query: str | None = None
    msgids: tuple[str, ...] = ()
    start_ms: int | None = None
    end_ms: int | None = None
    context_hours: float | None = None
    corp_id: int | None = None

    def __post_init__(self):
        kinds = sum(bool(x) for x in (self.session_ids, self.query, self.msgids))
        if kinds != 1:
            raise ValueError("select sessions, a query or msgids (exactly one of them)")

    @property
    def context_ms(self) -> int:
        hours = DEFAULT_CONTEXT_HOURS if self.context_hours is None else self.context_hours
        return int(hours * 3_600_000)

    def describe(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if v not in (None, ())}
        for k in ("session_ids", "msgids"):
            if k in d:
                d[k] = list(d[k])
        if self.query or self.msgids:
            d["context_hours"] = self.context_ms / 3_600_000
        return d


@dataclass(frozen=True)
class ExportResult:
    path: Path
    fingerprint: str  # the package fingerprint (see _BagWriter) shown on every transcript page
    key_fingerprint: str
    counts: dict
    export_id: int


@dataclass
class _Window:
    start: int | None
    end: int | None  # exclusive


@dataclass
class _Hits:
    ids: set[int] = field(default_factory=set)
    spans: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)


def _merge(windows: list[_Window]) -> list[_Window]:
    lo = -(2**62)
    ws = sorted(windows, key=lambda w: (lo if w.start is None else w.start))
    out: list[_Window] = []
    for w in ws:
        if out and (out[-1].end is None or (w.start if w.start is not None else lo) <= out[-1].end):
            last = out[-1]
            last.end = None if (last.end is None or w.end is None) else max(last.end, w.end)
        else:
            out.append(_Window(w.start, w.end))
    return out


def _iso(ms: int | None, tz: tzinfo | None) -> str:
    if ms is None:
        return ""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return (dt.astimezone(tz) if tz is not None else dt.astimezone()).isoformat(timespec="milliseconds")


def _app_version() -> str:
    try:
        return metadata.version("wecom-archive-auditor")
    except metadata.PackageNotFoundError:
        return "unknown"


def _session_dir(session_id: str | None) -> str:
    """A directory name from the session id (32 hex chars made by our parser), else from its hash."""
    if session_id and _HEX32.fullmatch(session_id):
        return session_id
    return "x" + hashlib.sha256((session_id or "").encode("utf-8")).hexdigest()[:31]


def _tag_value(value: object) -> str:
    return re.sub(r"[\r\n]+", " ", str(value)).strip()


def _human(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


class _BagWriter:
    """Writes payload files under ``root/data`` while hashing them into manifest-sha256.txt."""

    def __init__(self, root: Path):
        self.root = root
        self._root = os.fspath(root)
        (root / "data").mkdir(parents=True)
        # Open for the whole export (closed by close() or abort()).
        self.manifest = open(root / "manifest-sha256.txt", "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._open: list = [self.manifest]
        self.octets = 0
        self.files = 0
        # The package fingerprint: SHA-256 of the manifest lines of every payload file outside
        # data/transcripts/ (the transcripts are renderings that show the fingerprint, so they
        # cannot be part of it). An outsider recomputes it with
        #   grep -v '  data/transcripts/' manifest-sha256.txt | sha256sum
        self._evidence = hashlib.sha256()
        self._folders: set[str] = {"data"}
        # Small files are written by a thread of their own while the export goes on (creating a
        # file is a few hundred microseconds of system time, the GIL released); at most
        # _BATCH * (_BATCHES_AHEAD + 1) of them wait in memory. Their hashes are taken here, from the bytes.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bag-writer")
        self._pending: deque[Future[None]] = deque()
        self._batch: list[tuple[str, bytes]] = []  # handed to the writer _BATCH at a time (each hand-over
        # wakes the thread and passes the GIL: per file, that cost as much as the writing saved)
        self._copier: ThreadPoolExecutor | None = None  # media copies (copy_later), started when first needed

    def _record(self, rel: str, digest: str, size: int) -> None:
        line = f"{digest}  {rel}\n"
        self.manifest.write(line)
        if not rel.startswith(TRANSCRIPTS_DIR):
            self._evidence.update(line.encode("utf-8"))
        self.octets += size
        self.files += 1

    def fingerprint(self) -> str:
        return self._evidence.hexdigest()

    def add_file(self, rel: str, path: Path) -> None:
        """Record a file the caller wrote at ``root/rel`` (hashed here)."""
        self._record(rel, _hash_file(path), path.stat().st_size)

    def _folder(self, rel: str) -> str:
        """The file system path of ``rel`` (under the bag), its folder made once per export."""
        folder, _, _name = rel.rpartition("/")
        if folder not in self._folders:
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        return f"{self._root}/{rel}"  # os.path.join with a Path was a tenth of a millisecond a file

    def write_bytes(self, rel: str, data: bytes) -> str:
        """Write a new file ``rel`` holding ``data`` (in the writer thread; an error is raised by a
        later call or by :meth:`close`); returns its SHA-256."""
        self._batch.append((self._folder(rel), data))
        if len(self._batch) >= _BATCH:
            self._hand_over()
        digest = hashlib.sha256(data).hexdigest()
        self._record(rel, digest, len(data))
        return digest

    def copy_now(self, rel: str, open_source: Callable[[], contextlib.AbstractContextManager]) -> tuple[str, int]:
        """Copy the stream ``open_source()`` gives into a new file ``rel``, hashed on the way, and
        record it; returns (SHA-256, size)."""
        digest, size = _copy_hashing(open_source, self._folder(rel))
        self._record(rel, digest, size)
        return digest, size

    def copy_later(self, rel: str, open_source: Callable[[], contextlib.AbstractContextManager]) -> Future:
        """Start copying the stream ``open_source()`` gives into a new file ``rel`` in a copier
        thread (reading, hashing and writing release the GIL: the copies use the second core
        while this thread goes on with the messages). The file enters the manifest when the caller
        hands the future to :meth:`record_copy`, in the order of the calls to record_copy."""
        if self._copier is None:
            self._copier = ThreadPoolExecutor(max_workers=_COPIERS, thread_name_prefix="bag-copier")
        return self._copier.submit(_copy_hashing, open_source, self._folder(rel))

    def record_copy(self, rel: str, copy: Future) -> tuple[str, int]:
        """Wait for a copy started by :meth:`copy_later` (raising its error) and record it; returns
        (SHA-256, size)."""
        digest, size = copy.result()
        self._record(rel, digest, size)
        return digest, size

    def open_text(self, rel: str):
        """A text file written by the caller and hashed when closed with :meth:`close_text`."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "x", encoding="utf-8", newline="")  # noqa: SIM115 (closed by close_text/abort)
        self._open.append(f)
        return f

    def close_text(self, rel: str, f) -> None:
        f.close()
        h, size = hashlib.sha256(), 0
        with open(self.root / rel, "rb") as src:
            while chunk := src.read(1024 * 1024):
                h.update(chunk)
                size += len(chunk)
        self._record(rel, h.hexdigest(), size)

    def _hand_over(self) -> None:
        self._pending.append(self._writer.submit(_write_all, self._batch))
        self._batch = []
        if len(self._pending) > _BATCHES_AHEAD:
            self._pending.popleft().result()

    def flush(self) -> None:
        """Wait until every file handed to write_bytes is on disk (raises the first write's error)."""
        if self._batch:
            self._hand_over()
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        self.flush()
        self._writer.shutdown()
        if self._copier is not None:
            self._copier.shutdown()
        self.manifest.close()

    def abort(self) -> None:
        """Stop the writer and the copiers and close every file still open (before the partial
        folder is removed)."""
        self._writer.shutdown(wait=True, cancel_futures=True)
        if self._copier is not None:
            self._copier.shutdown(wait=True, cancel_futures=True)
        for f in self._open:
            f.close()


_BATCH, _BATCHES_AHEAD = 64, 4  # at most 320 small files wait in memory
_COPIERS = 2  # threads copying media (copy_later); each holds one _COPY_CHUNK buffer
_COPY_CHUNK = 1024 * 1024


def _copy_hashing(open_source: Callable[[], contextlib.AbstractContextManager], path: str) -> tuple[str, int]:
    """Copy the stream ``open_source()`` gives into the new file ``path``, hashing it in the same
    read; returns (SHA-256, size). Read into one buffer per thread: a new megabyte for every read
    cost more in page faults (system time) than the copy itself once two threads copied."""
    buf = getattr(_buffers, "buf", None)
    if buf is None:
        buf = _buffers.buf = memoryview(bytearray(_COPY_CHUNK))
    h, size = hashlib.sha256(), 0
    with open_source() as src:
        readinto = getattr(src, "readinto", None)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            while True:
                if readinto is not None:
                    n = readinto(buf)
                    chunk = buf[:n]
                else:
                    chunk = memoryview(src.read(_COPY_CHUNK))
                    n = len(chunk)
                if not n:
                    break
                h.update(chunk)
                while chunk:
                    chunk = chunk[os.write(fd, chunk):]
                size += n
        finally:
            os.close(fd)
    return h.hexdigest(), size


_buffers = threading.local()


def _write_all(files: list[tuple[str, bytes]]) -> None:
    for path, data in files:
        _write_new(path, data)


def _write_new(path: str, data: bytes) -> None:
    # os.open rather than open(): a buffered file object costs several system calls more, for each
    # of the thousands of small message files
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


VERIFY_TEXT = """How to check this evidence package without the WeCom Archive Auditor
=====================================================================

This folder is a BagIt bag (RFC 8493). Every file under data/ is listed with its SHA-256 in
manifest-sha256.txt; the tag files (bagit.txt, bag-info.txt, manifest-sha256.txt, VERIFY.txt,
export-public-key.pem) are listed in tagmanifest-sha256.txt, and tagmanifest-sha256.txt is signed
(Ed25519) by the exporting workstation: signature-ed25519.sig (base64), public key
export-public-key.pem. If you received a .zip file, unzip it first (unzip package.zip) and work in
the folder it holds.

The package fingerprint, printed on every page of the transcripts, is the SHA-256 of the lines of
manifest-sha256.txt for every payload file outside data/transcripts/ (the originals, the media,
the load file and the custody record; the transcripts are renderings of them).

In a terminal, inside this folder (Linux or macOS; OpenSSL 3 or later):

1. Every payload file is unchanged:
       sha256sum -c manifest-sha256.txt
   (macOS: shasum -a 256 -c manifest-sha256.txt). Every line must say OK.

2. The tag files are unchanged:
       sha256sum -c tagmanifest-sha256.txt

3. No file was added: the files under data/ must be exactly those listed in manifest-sha256.txt:
       find data -type f | sort > /tmp/present.txt
       cut -d' ' -f3- manifest-sha256.txt | sort > /tmp/listed.txt
       diff /tmp/present.txt /tmp/listed.txt && echo "no extra or missing files"

4. The signature is valid:
       base64 -d signature-ed25519.sig > /tmp/signature.bin
       openssl pkeyutl -verify -pubin -inkey export-public-key.pem -rawin \\
           -in tagmanifest-sha256.txt -sigfile /tmp/signature.bin
   It must print "Signature Verified Successfully".

5. The key is the one the exporter recorded: its fingerprint (SHA-256 of the raw public key)
       openssl pkey -pubin -in export-public-key.pem -outform DER | tail -c 32 | sha256sum
   must equal Export-Key-Fingerprint in bag-info.txt and the fingerprint the exporting organisation
   holds on record for its workstation.

6. The package fingerprint (must equal Package-Fingerprint in bag-info.txt and the fingerprint on
   the transcripts' pages):
       grep -v '  data/transcripts/' manifest-sha256.txt | sha256sum

The transcripts (data/transcripts/*.html and *.pdf, one per conversation; a long conversation's
PDF is split into volumes <conversation>-2.pdf, ...) are for reading; the original messages, exactly as
archived, are data/messages/<conversation>/<hash>.json, the media data/media/<sha256>.<ext>,
and data/loadfile.csv lists every message and media file with its hashes for review tools.
data/transcripts/index.html lists the conversations by name. Names are those each person or group
held at the message's time (data/custody.json says which directory sync they come from).
data/custody.json records who exported what, when, and from which archive.
"""


def _services(ctx):
    return ctx.archive, ctx.media, getattr(ctx, "search", None), ctx.db


class _Exporter:
    def __init__(self, ctx, actor: Actor, selection: Selection, tz: tzinfo | None,
                 progress: Callable[[int, int | None], None] | None, cancel: Callable[[], bool] | None):
        self.ctx = ctx
        self.archive, self.media, self.search, self.db = _services(ctx)
        self.actor, self.sel, self.tz = actor, selection, tz
        self.progress, self.cancel = progress, cancel
        self.hits = _Hits()
        self.seen_media: set[str] = set()
        self.msg_files: set[str] = set()
        self.counts = {"messages": 0, "sessions": 0, "hits": 0, "media_files": 0, "media_bytes": 0,
                       "media_missing": 0, "media_md5_mismatch": 0, "pdf_files": 0}
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self.done = 0
        self.progress_total: int | None = None
        self.fingerprint = ""
        self.pdf_fonts: PdfFonts | None = None
        directory = getattr(ctx, "directory", None)
        if directory is None:
            from app.core.directory import Directory

            directory = Directory(self.db)
        self.directory = directory
        self._spans: dict[str | None, list[int]] = {}  # session -> [first ms, last ms, messages]
        self._headers: dict[str | None, dict] = {}  # session -> title, room_name, participant_names
        self._index: list[IndexEntry] = []
        self._sessions: dict[str, object] = {}  # session id -> its SessionRow (or None), see _session_info
        self._media_allowed = False  # media.read checked (see _media_source)
        self._default_corp: tuple[int | None] | None = None  # see _corp_id
        self._copies: dict[str, Future] = {}  # media copies started for the page being written (_start_copies)
        self.pdf_workers: int | None = None  # processes rendering the PDFs (pdf_process.workers_for)
        self._selection_text: str | None = None  # see _selection_note
        self.review = ReviewEvidence(self.db, tz)  # reviewers' annotations, apart from the messages

    # ------------------------------------------------------------------ what to export
    def _message_row(self, msgid: str) -> MessageRow | None:
        d = self.archive.message(self.actor, msgid=msgid, corp_id=self.sel.corp_id)
        return None if d is None else d.row

    def _hit_rows(self) -> Iterator[tuple[MessageRow, tuple[tuple[int, int], ...]]]:
        if self.sel.query:
            before = None
            while True:
                hits = self.search.query(self.actor, self.sel.query, limit=PAGE, before=before,
                                         corp_id=self.sel.corp_id)
                for h in hits:
                    yield h.message, h.offsets
                if len(hits) < PAGE:
                    return
                before = hits[-1].cursor()
        else:
            for msgid in dict.fromkeys(self.sel.msgids):
                row = self._message_row(msgid)
                if row is None:
                    raise ExportError(f"no message with msgid {msgid!r} in the archive",
                                      f"存档中没有 msgid 为 {msgid!r} 的消息")
                yield row, ()

    def plan(self) -> dict[str | None, list[_Window]]:
        """The windows of each conversation to export, merged, by session id."""
        plan: dict[str | None, list[_Window]] = {}
        if self.sel.session_ids:
            for sid in dict.fromkeys(self.sel.session_ids):
                if self._session_info(sid) is None:  # unknown, or outside the exporter's scope
                    raise ExportError(f"no conversation {sid!r} in the archive that you may export",
                                      f"存档中没有您可以导出的会话 {sid!r}")
                plan[sid] = [_Window(self.sel.start_ms, self.sel.end_ms)]
            return plan
        ctx_ms = self.sel.context_ms
        for row, spans in self._hit_rows():
            if self.sel.start_ms is not None and row.msgtime < self.sel.start_ms:
                continue
            if self.sel.end_ms is not None and row.msgtime >= self.sel.end_ms:
                continue
            self.hits.ids.add(row.id)
            if spans:
                self.hits.spans[row.id] = tuple(spans)
            plan.setdefault(row.session_id, []).append(_Window(row.msgtime - ctx_ms, row.msgtime + ctx_ms + 1))
        self.counts["hits"] = len(self.hits.ids)
        return {sid: _merge(ws) for sid, ws in plan.items()}

    def _count(self, plan) -> int:
        total = 0
        with self.db.read() as conn:
            for sid, windows in plan.items():
                for w in windows:
                    q = select(func.count()).select_from(Message).where(session_messages(sid, self.sel.corp_id))
                    if w.start is not None:
                        q = q.where(Message.msgtime >= w.start)
                    if w.end is not None:
                        q = q.where(Message.msgtime < w.end)
                    total += conn.execute(q).scalar_one()
        return total

    def _pages(self, sid: str | None, w: _Window) -> Iterator[list[MessageRow]]:
        if sid is None:  # messages without a session (none today): only the picked ones
            rows = [self._message_row(m) for m in self.sel.msgids]
            yield [r for r in rows if r is not None and r.session_id is None]
            return
        after = None
        while True:
            rows = self.archive.messages(self.actor, corp_id=self.sel.corp_id, session_id=sid, start_ms=w.start,
                                         end_ms=w.end, limit=PAGE, after=after)
            if rows:
                yield rows
            if len(rows) < PAGE:
                return
            after = (rows[-1].msgtime, rows[-1].id)

    # ------------------------------------------------------------------ writing
    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel():
            raise ExportCancelled("the export was cancelled", "导出已取消")

    def _media_source(self, md) -> Callable[[], contextlib.AbstractContextManager] | None:
        """How to open the stored bytes of a media row that ArchiveService.media_of_messages read a
        moment ago within the exporter's scope: straight from the backend the row names (safe in a
        copier thread: backends are thread-safe). MediaService.open reads the row and checks the
        scope again (two queries a file, a third of an export's time); its permission is checked
        here once. None for a context without ``storage_for``: open with MediaService.open, here."""
        storage_for = getattr(self.ctx, "storage_for", None)
        if storage_for is None:
            return None
        if not self._media_allowed:
            from app.core.auth import roles as R
            from app.core.auth.audit import Action

            self.media.trail.require(self.actor, R.MEDIA_READ, action=Action.MEDIA_OPEN, object_type="media",
                                     object=str(md.id))
            self._media_allowed = True
        storage, key = storage_for(md.storage_backend), md.storage_key
        return lambda: storage.open(key)

    @staticmethod
    def _media_rel(md) -> str | None:
        """The media file's path in the package (named by its SHA-256), None if it is not stored."""
        if md.status != STORED or not md.sha256:
            return None
        ext = (md.ext or "").lower()
        return f"data/media/{md.sha256}.{ext if _EXT.fullmatch(ext) else 'bin'}"

    def _start_copies(self, bag: _BagWriter, page: list[MessageRow], media_by_msg: dict) -> None:
        """Start copying the page's media files the package does not hold yet (bag.copy_later);
        _export_media records each in its turn, so the manifest's order is the messages'."""
        for m in page:
            for md in media_by_msg.get(m.id, ()):
                rel = self._media_rel(md)
                if rel is None or rel in self.seen_media or rel in self._copies:
                    continue
                source = self._media_source(md)
                if source is None:
                    return  # copied one by one in _export_media
                self._copies[rel] = bag.copy_later(rel, source)

    def _export_media(self, bag: _BagWriter, m: MessageRow, media_rows, base: dict, lf: LoadFileWriter,
                      names: dict | None = None):
        links = []
        for md in media_rows:
            native, digest = "", ""
            rel = self._media_rel(md)
            if rel is not None:
                if rel not in self.seen_media:
                    self._check_cancel()
                    copy = self._copies.pop(rel, None)
                    if copy is not None:
                        digest, size = bag.record_copy(rel, copy)
                    else:
                        source = self._media_source(md) or (lambda md=md: self.media.open(self.actor, md.id))
                        digest, size = bag.copy_now(rel, source)
                    self.seen_media.add(rel)
                    self.counts["media_files"] += 1
                    self.counts["media_bytes"] += size
                else:
                    digest = md.sha256
                native = rel
            else:
                self.counts["media_missing"] += 1
            links.append({"path": native, "kind": md.kind, "label": md.filename or md.kind,
                          "is_image": native.rsplit(".", 1)[-1] in _IMAGE_EXTS if native else False})
            if md.md5_matched is False:
                self.counts["media_md5_mismatch"] += 1
            lf.media(**base, native_path=native, native_sha256=digest, ref=md.ref_path, kind=md.kind,
                     filename=md.filename, status=md.status, md5sum=md.md5sum, md5_matched=md.md5_matched,
                     names=names)
        return links

    def write(self, root: Path, plan, work: Path) -> None:
        """Pass 1: the originals, media, load file and custody record (which the fingerprint covers),
        with each conversation's transcript entries spooled to ``work``; pass 2: the transcripts
        (HTML and PDF), which show the fingerprint. The processes rendering the PDFs are started
        first, so that they are ready (Python and the PDF libraries loaded) when pass 2 begins."""
        total = self._count(plan)
        self.progress_total = 2 * total
        # imported here: ``python -m app.core.export.pdf_process`` (a renderer) imports this package first
        from .pdf_process import PdfRenderers, workers_for

        workers = workers_for(total, self.pdf_workers) if self.pdf_fonts is not None else 0
        renderers = PdfRenderers(workers, cancelled=self.cancel) if workers else None
        try:
            spools = self._originals(root, plan, work)
            self._transcripts_all(root, spools, work, renderers)
        except BaseException:
            if renderers is not None:
                renderers.close(kill=True)
            raise
        if renderers is not None:
            renderers.close()
        bag = self.bag
        index_rel = f"{TRANSCRIPTS_DIR}index.html"
        index_file = bag.open_text(index_rel)
        write_index(index_file, self._index, zone_note=self._zone(), fingerprint=self.fingerprint,
                    selection_note=self._selection_note(),
                    directory_note=self._directory_note())
        bag.close_text(index_rel, index_file)
        bag.close()

    def _originals(self, root: Path, plan, work: Path) -> list[tuple[str | None, Path]]:
        """Pass 1 (see write); returns each conversation's spool of transcript entries."""
        bag = self.bag = _BagWriter(root)
        lf_rel = "data/loadfile.csv"
        lf_file = bag.open_text(lf_rel)
        lf = LoadFileWriter(lf_file)
        rv_rel = "data/review.jsonl"
        self.review.sink = rv_file = bag.open_text(rv_rel) if self.review.enabled else None
        spools = []
        for n, (sid, windows) in enumerate(plan.items()):
            spool = work / f"{n}.jsonl"
            with open(spool, "w", encoding="utf-8") as out:
                self._collect(bag, lf, sid, windows, out)
            spools.append((sid, spool))
        bag.close_text(lf_rel, lf_file)
        if rv_file is not None:
            bag.close_text(rv_rel, rv_file)
        if self.pdf_fonts is not None:  # written in pass 2, after the custody record that counts them
            self.counts["pdf_files"] = sum(_pdf_volumes(spool) for _sid, spool in spools)
        self.custody = self._custody()
        bag.write_bytes("data/custody.json",
                        json.dumps(self.custody, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
        bag.flush()  # every original on disk before the transcripts (a write error fails the export here)
        self.fingerprint = bag.fingerprint()
        return spools

    def _transcripts_all(self, root: Path, spools, work: Path, renderers) -> None:
        """Pass 2 (see write): the HTML transcripts here, the PDFs by ``renderers`` (None: here)."""
        from .pdf_process import render_conversation

        bag = self.bag
        for sid, _ in spools:
            self._headers[sid] = self._header_names(sid)
        if self.pdf_fonts is not None:
            self.pdf_fonts = subset_fonts(self.pdf_fonts, self._characters(spools), work)
        self._pdf_written = 0
        for n, (sid, spool) in enumerate(spools):
            job = self._transcripts(bag, root, sid, spool)
            if job is None:
                continue
            if renderers is None:
                volumes = render_conversation(job, cancelled=self.cancel)
                self._check_cancel()
                self._pdfs_written(bag, root, n, volumes)
            else:
                for done, volumes in renderers.submit(n, job):
                    self._pdfs_written(bag, root, done, volumes)
        if renderers is not None:
            for done, volumes in renderers.results():
                self._pdfs_written(bag, root, done, volumes)
        if self.pdf_fonts is not None and self._pdf_written != self.counts["pdf_files"]:
            raise ExportError(f"{self._pdf_written} PDF transcripts were written where the custody record "
                              f"counts {self.counts['pdf_files']}",
                              f"写出了 {self._pdf_written} 份 PDF 记录，而保管记录中为 {self.counts['pdf_files']} 份")

    def _characters(self, spools) -> set[str]:
        """Every character the PDF transcripts will show (for cutting the fonts down)."""
        chars = set(self.fingerprint) | set(self._selection_note())
        chars |= set(pdf_module.REVIEW_HEADING)
        chars |= set(datetime.now().astimezone(self.tz).strftime("UTC%z (%Z)") if self.tz is None else str(self.tz))
        for sid, spool in spools:
            info = self._session_info(sid)
            if info is not None:
                chars |= set(info.session_type) | set(info.roomid) | set(", ".join(info.participants))
            header = self._headers.get(sid) or {}
            chars |= set(header.get("title", "")) | set(header.get("room_name", ""))
            chars |= set("".join(header.get("participant_names", ())))
            chars |= set(sid or "-")
            with open(spool, encoding="utf-8") as f:
                while block := f.read(1 << 20):
                    chars.update(block)
        return chars

    def _selection_note(self) -> str:
        """The selection as the transcripts show it, long lists cut as in bag-info.txt (custody.json
        has it whole): every PDF volume began with it, an export of 315 conversations' ids filling
        most of a page (a fifth of the PDFs' time). Made once: a long list of conversations took a
        second or more to describe for each of them."""
        if self._selection_text is None:
            self._selection_text = _short_selection(self.sel)
        return self._selection_text

    def _session_info(self, sid: str | None):
        """The conversation's row (None if unknown or outside the scope), read once per export."""
        if not sid:
            return None
        if sid not in self._sessions:
            if len(self._sessions) >= 4096:  # bounded: a group's row can hold thousands of participants
                self._sessions.clear()
            self._sessions[sid] = self.archive.session(self.actor, self._corp_id(), sid)
        return self._sessions[sid]

    def _collect(self, bag: _BagWriter, lf: LoadFileWriter, sid: str | None, windows, out) -> None:
        from app.core.messages import MessageParseError, parse_message

        sdir = _session_dir(sid)
        self.counts["sessions"] += 1
        info = self._session_info(sid)
        session_review = self.review.of_session(info.corp_id if info else None, sid)
        if session_review:
            out.write(json.dumps({"session_review": session_review}, ensure_ascii=False) + "\n")
        for i, w in enumerate(windows):
            if i:
                out.write('{"gap": true}\n')
            for page in self._pages(sid, w):
                media_by_msg = self.archive.media_of_messages(self.actor, [m.id for m in page])
                self._start_copies(bag, page, media_by_msg)
                raws = self.archive.raw_json_of(self.actor, [m.id for m in page])
                evidence = self.review.of_messages(page)
                for m in page:
                    self._check_cancel()
                    raw = raws[m.id]
                    name = hashlib.sha256(m.msgid.encode("utf-8")).hexdigest()
                    rel = f"data/messages/{sdir}/{name[:16]}.json"
                    if rel in self.msg_files:
                        rel = f"data/messages/{sdir}/{name}.json"
                    self.msg_files.add(rel)
                    digest = bag.write_bytes(rel, raw)
                    try:
                        summary = parse_message(raw).summary_zh
                    except MessageParseError:
                        summary = "[无法解析 unparsable]"
                    when = _iso(m.msgtime, self.tz)
                    hit = m.id in self.hits.ids
                    base = dict(msgid=m.msgid, seq=m.seq, session_id=m.session_id or "",
                                session_type=m.session_type or "", sender=m.sender, recipients=m.tolist,
                                roomid=m.roomid, time=when, msgtype=m.msgtype)
                    names = self._message_names(m)
                    ev = evidence.get(m.id)
                    lf.message(**base, text=m.content_text or summary, recalled=bool(m.recalled_at), hit=hit,
                               native_path=rel, native_sha256=digest, names=names,
                               review=ev.columns() if ev is not None and not ev.is_empty() else None)
                    media = self._export_media(bag, m, media_by_msg.get(m.id, []), base, lf, names)
                    span = self._spans.setdefault(sid, [m.msgtime, m.msgtime, 0])
                    span[0], span[1], span[2] = min(span[0], m.msgtime), max(span[1], m.msgtime), span[2] + 1
                    entry = dict(msgid=m.msgid, seq=m.seq, time=when, sender=m.sender, recipients=list(m.tolist),
                                 sender_name=names["sender_name"], sender_note=self._sender_note(names),
                                 recipient_names=list(names["recipient_names"]),
                                 msgtype=m.msgtype, summary=summary, text=m.content_text,
                                 recalled_at=_iso(m.recalled_at, self.tz) if m.recalled_at else None, hit=hit,
                                 hit_spans=[list(s) for s in self.hits.spans.get(m.id, ())], media=media,
                                 native_path=rel, review=ev.lines() if ev is not None and not ev.is_empty() else [])
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")
                    self.counts["messages"] += 1
                    self.first_ms = m.msgtime if self.first_ms is None else min(self.first_ms, m.msgtime)
                    self.last_ms = m.msgtime if self.last_ms is None else max(self.last_ms, m.msgtime)
                    self._step()

    def _step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.progress_total)

    def _transcripts(self, bag: _BagWriter, root: Path, sid: str | None, spool: Path):
        """The HTML transcript of one conversation, from its spooled entries, and the job that
        renders its PDF volume(s) (None without PDFs)."""
        sdir = _session_dir(sid)
        info = self._session_info(sid)
        zone = datetime.now().astimezone(self.tz).strftime("UTC%z (%Z)") if self.tz is None else str(self.tz)
        selection_note = self._selection_note()
        participants = info.participants if info else ()
        t_rel = f"{TRANSCRIPTS_DIR}{sdir}.html"
        t_file = bag.open_text(t_rel)
        names = self._headers.get(sid) or self._header_names(sid)
        tw = TranscriptWriter(t_file, session_id=sid or "-", session_type=info.session_type if info else "",
                              participants=participants, roomid=info.roomid if info else "",
                              zone_note=zone, selection_note=selection_note, fingerprint=self.fingerprint,
                              title=names["title"], room_name=names["room_name"],
                              participant_names=names["participant_names"])
        with open(spool, encoding="utf-8") as entries:
            for line in entries:
                self._check_cancel()
                e = json.loads(line)
                if "session_review" in e:  # the conversation's own review, under the header
                    tw.session_review(e["session_review"])
                    continue
                if e.get("gap"):
                    tw.gap()
                    continue
                media = e.pop("media")
                e["recipients"] = tuple(e["recipients"])
                e["recipient_names"] = tuple(e["recipient_names"])
                e["hit_spans"] = tuple(tuple(s) for s in e["hit_spans"])
                native = e.pop("native_path")
                tw.message(**e, media=[MediaLink(href="../" + m["path"].removeprefix("data/"), kind=m["kind"],
                                                 label=m["label"], is_image=m["is_image"])
                                       for m in media if m["path"]] +
                           [MediaLink(href="", kind=m["kind"], label=m["label"], is_image=False)
                            for m in media if not m["path"]],
                           native_href="../" + native.removeprefix("data/"))
                if self.pdf_fonts is None:  # else a conversation's steps are its PDF's (_pdfs_written)
                    self._step()
        tw.close()
        if self.pdf_fonts is None:
            bag.close_text(t_rel, t_file)
        else:  # recorded with its PDFs (_pdfs_written): the manifest's order is the conversations'
            t_file.close()
        span = self._spans.get(sid, [None, None, 0])
        self._index.append(IndexEntry(
            title=names["title"] or (sid or "-"), session_id=sid or "-",
            session_type=info.session_type if info else "", messages=span[2], first=_iso(span[0], self.tz),
            last=_iso(span[1], self.tz), html=f"{sdir}.html"))
        if self.pdf_fonts is None:
            return None
        header = TranscriptHeader(session_id=sid or "-", session_type=info.session_type if info else "",
                                  participants=tuple(participants), roomid=info.roomid if info else "",
                                  zone_note=zone, selection_note=selection_note, fingerprint=self.fingerprint,
                                  title=names["title"], room_name=names["room_name"],
                                  participant_names=names["participant_names"])
        from .pdf_process import RenderJob

        return RenderJob(self.pdf_fonts, header, str(spool), str(root), sdir, pdf_module.MESSAGES_PER_VOLUME)

    def _pdfs_written(self, bag: _BagWriter, root: Path, n: int, volumes: list) -> None:
        """The PDF volumes of the ``n``-th conversation, rendered: hashed into the manifest in the
        conversations' order (whichever process rendered them, whenever it finished), named in the
        index, and the conversation's transcript steps counted."""
        entry = self._index[n]
        bag.add_file(f"{TRANSCRIPTS_DIR}{entry.html}", root / TRANSCRIPTS_DIR / entry.html)
        for v in volumes:
            bag.add_file(v.rel, root / v.rel)
            self._pdf_written += 1
        self._index[n] = dataclasses.replace(entry, pdfs=tuple(v.rel.removeprefix(TRANSCRIPTS_DIR) for v in volumes))
        for _ in range(entry.messages):
            self._step()

    # ------------------------------------------------------------------ names
    def _corp_id(self, m_corp_id: int | None = None) -> int | None:
        if m_corp_id is not None:
            return m_corp_id
        if self.sel.corp_id:
            return self.sel.corp_id
        if self._default_corp is None:  # read once per export (a query each time cost 4 ms a conversation)
            self._default_corp = (self.archive.corp_id(self.actor),)
        return self._default_corp[0]

    def _who(self, corp_id: int, userid: str, ms: int | None) -> tuple[str, str, str]:
        """(name at ``ms``, today's name where different, corp of an external contact) of ``userid``."""
        at = self.directory.name_at(self.actor, corp_id, userid, ms)
        person = self.directory.person(self.actor, corp_id, userid)
        corp = ""
        if person is not None and person.kind == "external":
            corp = at.organisation or person.organisation
        return at.name, at.current if at.changed else "", corp

    def _message_names(self, m: MessageRow) -> dict:
        """The name columns of one message: names held at its time (app/core/directory/names.py)."""
        name, now, corp = self._who(m.corp_id, m.sender, m.msgtime) if m.sender else ("", "", "")
        recipients = [self._who(m.corp_id, r, m.msgtime) for r in m.tolist]
        group = self._who(m.corp_id, m.roomid, m.msgtime)[0] if m.roomid else ""
        return {"sender_name": name, "sender_name_now": now, "sender_corp": corp,
                "recipient_names": [r[0] for r in recipients], "recipient_corps": [r[2] for r in recipients],
                "group_name": group}

    @staticmethod
    def _sender_note(names: dict) -> str:
        parts = []
        if names["sender_corp"]:
            parts.append(f"（{names['sender_corp']}）")
        if names["sender_name_now"]:
            parts.append(f"现名 now: {names['sender_name_now']}")
        return " ".join(parts)

    def _header_names(self, sid: str | None) -> dict:
        """The conversation by names, as of its first exported message: the group's name, or its
        people's ("name（corp）" for an external contact)."""
        info = self._session_info(sid)
        if info is None:
            return {"title": "", "room_name": "", "participant_names": ()}
        at = (self._spans.get(sid) or [None])[0]
        labels = []
        for p in info.participants:
            name, _, corp = self._who(info.corp_id, p, at)
            labels.append(f"{name}（{corp}）" if name and corp else name)
        room = self._who(info.corp_id, info.roomid, at)[0] if info.roomid else ""
        if room:
            title = room
        else:
            shown = [label or p for label, p in zip(labels, info.participants, strict=True)]
            title = "、".join(shown[:6]) + (f" 等 {len(shown)} 人 ({len(shown)} people)" if len(shown) > 6 else "")
        return {"title": title if (room or any(labels)) else "", "room_name": room, "participant_names": tuple(labels)}

    def _zone(self) -> str:
        return datetime.now().astimezone(self.tz).strftime("UTC%z (%Z)") if self.tz is None else str(self.tz)

    def _directory_custody(self, corp) -> dict:
        """Where the names in this package come from: the directory sync or import they are as of."""
        corp_id = corp.id if corp is not None else None
        snap = self.directory.snapshot(self.actor, corp_id) if corp_id is not None else None
        if snap is None or snap.run_id is None:
            return {"source": "none" if not (snap and snap.names) else "import", "synced_at": None,
                    "names": snap.names if snap else 0,
                    "rule": "names held at each message's time; ids without a name are shown as ids"}
        return {"source": "wecom_api" if snap.source == "api" else "names_file", "run_id": str(snap.run_id),
                "outcome": snap.outcome, "synced_at": _iso(snap.at, self.tz), "names": snap.names,
                "rule": "names held at each message's time (the directory keeps every name an id held and when "
                        "it was first seen); a message older than the first name seen shows the earliest name known"}

    def _directory_note(self) -> str:
        d = getattr(self, "custody", {}).get("directory") or {}
        if not d.get("synced_at"):
            return "ids without a directory (names unknown)" if d.get("source") == "none" else "names file"
        source = "WeCom directory sync" if d.get("source") == "wecom_api" else "names file import"
        return f"{source} of {d['synced_at']}; names as held at each message's time"

    def _custody(self) -> dict:
        corps = self.archive.corps(self.actor)
        corp = next((c for c in corps if c.id == self.sel.corp_id), corps[0] if corps else None)
        url = self.db.url.set(password=None).render_as_string(hide_password=True)
        exporter = getattr(self, "exporter", self.actor)
        head = getattr(self, "head", None)
        return {
            "exported_by": exporter.username,
            "account_id": exporter.account_id,
            "roles": sorted(exporter.roles),
            "audit_chain_head": None if head is None else {"seq": head.seq, "hash": head.hash},
            "workstation": self.actor.workstation or socket.gethostname(),
            "exported_at": _iso(now_ms(), self.tz),
            "archive": {"corpid": corp.corpid if corp else None, "corp_name": corp.name if corp else None,
                        "database": url},
            "selection": self.sel.describe(),
            "app": {"name": "wecom-archive-auditor", "version": _app_version()},
            "counts": dict(self.counts),
            "time_range": {"first": _iso(self.first_ms, self.tz), "last": _iso(self.last_ms, self.tz)},
            "directory": self._directory_custody(corp),
            "review": self.review.custody(),
            "purpose": "evidence export",
        }


JOURNAL_DIR = "exports-in-progress"  # under the data folder: one file per running export
_STAGING = re.compile(r"\.(?P<name>.+)\.export-(?P<token>[0-9a-f]{12})")


def _pdf_volumes(spool: Path) -> int:
    """How many PDF volumes PdfTranscriptWriter makes of a conversation's spool: none for an empty
    one, else one per MESSAGES_PER_VOLUME messages (a conversation of gaps only still gets one)."""
    messages = lines = 0
    with open(spool, encoding="utf-8") as entries:
        for line in entries:
            lines += 1
            messages += not line.startswith(('{"gap"', '{"session_review"'))
    if not lines:
        return 0
    return max(1, -(-messages // pdf_module.MESSAGES_PER_VOLUME))


def _staging_dir(out: Path, token: str) -> Path:
    """Where an export is built: a hidden 0700 folder beside ``out`` (so the final rename stays on
    one file system), holding the bag folder (or the zip) and the spool. Others cannot read it."""
    return out.parent / f".{out.name}.export-{token}"


def _lock(fd: int) -> bool:
    """Take the lock of an open journal file without waiting; False when another process holds it."""
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


class _Journal:
    """``<data_dir>/exports-in-progress/<token>.json``: the output path, staging folder and (just
    before the final rename) the fingerprint of one running export, one JSON object per line (the
    record, then what was added to it), locked by its process for as long as it runs.
    :func:`clean_interrupted_exports` treats a journal it can lock as the trace of an export whose
    process ended (killed, crashed, powered off) and undoes what it left."""

    def __init__(self, data_dir: str | os.PathLike[str], token: str, record: dict):
        folder = Path(data_dir) / JOURNAL_DIR
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = folder / f"{token}.json"
        self.record = record
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0)
        self.fd = os.open(self.path, flags, 0o600)
        if not _lock(self.fd):  # cannot happen for a file just made; be safe rather than unlocked
            os.close(self.fd)
            raise ExportError(f"cannot lock {self.path}", f"无法锁定 {self.path}")
        self._append(record)

    def update(self, **values) -> None:
        """Add ``values`` to the record. Appended as a line of its own, never rewritten in place: a
        kill in the middle tears that line only, and the record written before stays readable."""
        self.record.update(values)
        self._append(values)

    def _append(self, values: dict) -> None:
        data = json.dumps(values, ensure_ascii=False).encode("utf-8") + b"\n"
        while data:
            data = data[os.write(self.fd, data):]
        os.fsync(self.fd)

    @staticmethod
    def read(fd: int) -> dict:
        """The record of a journal file: its lines merged in order; a torn last line (the process
        was killed while appending it) is left out. Raises ValueError when even the first line is
        unreadable (the process died before its record was written: it had made nothing yet)."""
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        lines = b"".join(chunks).split(b"\n")
        record = json.loads(lines[0].decode("utf-8"))
        if not isinstance(record, dict):
            raise ValueError("not a journal record")
        for line in lines[1:]:
            try:
                values = json.loads(line.decode("utf-8"))
            except ValueError:  # the torn last line (or the empty one after the final newline)
                break
            if isinstance(values, dict):
                record.update(values)
        return record

    def close(self) -> None:
        # POSIX: unlink while still locked, so that no cleaner can take the lock of a finished
        # export's journal (a cleaner that opened it before skips it: no links left). Windows
        # cannot remove an open file: close first.
        if os.name == "nt":
            with contextlib.suppress(OSError):
                os.close(self.fd)
        with contextlib.suppress(OSError):
            self.path.unlink()
        if os.name != "nt":
            with contextlib.suppress(OSError):
                os.close(self.fd)


def _package_fingerprint_of(path: Path) -> str | None:
    """Package-Fingerprint from the bag-info.txt of the package at ``path`` (folder or zip), read
    within small limits; None if there is none or it cannot be read."""
    from .zipread import EntryProblem, ZipProblem, ZipReader

    try:
        if path.is_dir() and not path.is_symlink():
            with open(path / "bag-info.txt", "rb") as f:
                data = f.read(1 << 20)
        elif path.is_file() and not path.is_symlink():
            with open(path, "rb") as f:
                reader = ZipReader(f, os.fstat(f.fileno()).st_size, lambda text: None, max_entries=1_000_000,
                                   max_name=1024, max_ratio=10**6, bomb_floor=2**62)
                entry = next((e for n, e in reader.entries.items()
                              if n.count("/") == 1 and n.endswith("/bag-info.txt")), None)
                if entry is None:
                    return None
                data = b"".join(reader.chunks(entry, 1 << 20))
        else:
            return None
    except (OSError, ZipProblem, EntryProblem):
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Package-Fingerprint":
            return value.strip()
    return None


def clean_interrupted_exports(ctx) -> list[str]:
    """Undo what exports whose process ended without finishing (SIGKILL, a crash, a power cut) left
    behind, and record each in the audit trail (``export``, failed, "interrupted"). Call it when the
    app starts; :func:`export_package` calls it before every export. Exports still running (in this
    or another process) hold their journal's lock and are left alone.

    Removed: the staging folder (the partial bag, the spool, a finished zip not yet renamed), and a
    package that reached its final path but whose record never committed (identified by the
    fingerprint its journal holds). Returns one sentence per export cleaned up."""
    folder = Path(ctx.paths.data_dir) / JOURNAL_DIR
    try:
        journals = sorted(folder.glob("*.json"))
    except OSError:
        return []
    done: list[str] = []
    for path in journals:
        try:
            fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
        except OSError:
            continue
        try:
            if not _lock(fd) or os.fstat(fd).st_nlink == 0:  # running, or cleaned by another process just now
                continue
            try:
                record = _Journal.read(fd)
                out, staging, token = Path(record["out"]), Path(record["staging"]), str(record["token"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                path.unlink(missing_ok=True)  # not a journal of ours: nothing to act on
                continue
            try:
                note = _clean_one(ctx, record, out, staging, token)
            except Exception as exc:  # e.g. the database is unreachable: try again next time
                log.warning("could not clean up the interrupted export to %s yet: %s", out, exc)
                continue
            path.unlink(missing_ok=True)
            if note:
                done.append(f"An export to {out} started by {record.get('actor')} was interrupted; {note}.")
        finally:
            os.close(fd)
    return done


def _clean_one(ctx, record: dict, out: Path, staging: Path, token: str) -> str | None:
    """Undo one interrupted export (see clean_interrupted_exports); None if it had in fact been
    recorded (killed after its commit: only leftovers to remove, nothing to record)."""
    from app.core.auth import Action, AuditTrail
    from app.core.auth.audit import FAILED

    m = _STAGING.fullmatch(staging.name)
    if m and m["token"] == token and staging.parent == out.parent and m["name"] == out.name:
        shutil.rmtree(staging, ignore_errors=True)  # never anything but that export's own staging folder
    note = "its partial package was removed"
    fingerprint = record.get("fingerprint")
    if fingerprint and export_records(ctx.db, fingerprint=fingerprint, limit=1):
        return None
    if fingerprint and (out.exists() or out.is_symlink()) and _package_fingerprint_of(out) == fingerprint:
        if out.is_dir() and not out.is_symlink():
            shutil.rmtree(out)
        else:
            out.unlink()
        note = f"the package written to {out} was never recorded and was removed"
    AuditTrail(ctx.db).record(
        Actor.system("export-cleanup"), Action.EXPORT, object_type="selection",
        object=json.dumps(record.get("selection", {}), ensure_ascii=False), outcome=FAILED,
        detail={"error": "interrupted: the exporting process ended before the export finished",
                "started_by": record.get("actor"), "started_at": record.get("started_at"), "path": str(out),
                "token": token, "cleanup": note})
    return note


def _short_selection(selection: Selection) -> str:
    """The selection for bag-info.txt's one line and the transcripts' headers: long id lists cut
    (custody.json has them all)."""
    d = selection.describe()
    for k in ("session_ids", "msgids"):
        if k in d and len(d[k]) > 10:
            d[k] = d[k][:10] + [f"... {len(d[k]) - 10} more (see data/custody.json)"]
    if d.get("query") and len(d["query"]) > 500:
        d["query"] = d["query"][:500] + "... (see data/custody.json)"
    return json.dumps(d, ensure_ascii=False)


def export_package(ctx, actor: Actor, selection: Selection, out_path: str | os.PathLike[str], *,
                   progress: Callable[[int, int | None], None] | None = None,
                   cancel: Callable[[], bool] | None = None, tz: tzinfo | None = None,
                   description: str | None = None, pdf: bool = True, review: bool = True,
                   pdf_workers: int | None = None) -> ExportResult:
    """Write the evidence package of ``selection`` to ``out_path`` (which must not exist): a folder,
    or a single zip file when ``out_path`` ends in ``.zip`` (the bag's folder inside it).

    ``ctx``: an AppContext, or any object with ``archive``, ``media``, ``search``, ``db``, ``secrets``
    and ``paths.data_dir``. ``progress(done, total)`` as the export goes (two steps per message: the
    originals, then the transcripts); ``cancel()`` returning True stops the export (ExportCancelled)
    and removes everything written. Times are shown in ``tz`` (default: this computer's zone).
    ``pdf=False`` leaves out the PDF transcripts (bag-info.txt says so); ``review=False`` leaves
    out the reviewers' tags, statuses, notes and alerts (app/core/review/evidence.py; custody.json
    says so). ``pdf_workers``: child processes rendering the PDFs (0: in this process; default:
    one per core, at most two, for an export of 1,500 messages or more; app/core/export/pdf_process.py).

    The attempt is recorded (``export.start``) before anything is written. The package is built in
    a hidden 0700 staging folder beside ``out_path`` and renamed into place inside the transaction
    that records it in the ``exports`` table and the audit trail. If the process is killed, a
    journal in the data folder lets :func:`clean_interrupted_exports` (called here first, and by
    the app at start) remove what was left and record the interruption.
    """
    from app.core.auth import EXPORT_CREATE, Action, AuditTrail
    from app.core.auth.audit import FAILED

    trail = AuditTrail(ctx.db)
    selection_text = json.dumps(selection.describe(), ensure_ascii=False)
    trail.require(actor, EXPORT_CREATE, action=Action.EXPORT, object_type="selection", object=selection_text)
    out = Path(out_path).absolute()
    as_zip = out.suffix.lower() == ".zip"
    if out.exists() or out.is_symlink():
        raise ExportError(f"{out} already exists; choose a new path for the package",
                          f"{out} 已存在：请为证据包另选一个路径")
    if not out.parent.is_dir():
        raise ExportError(f"the folder {out.parent} does not exist", f"文件夹 {out.parent} 不存在")
    bag_name = out.stem if as_zip else out.name
    if as_zip and not bag_name:
        raise ExportError(f"{out} has no name before .zip", f"{out} 在 .zip 之前没有文件名")
    fonts = None
    if pdf:
        try:
            fonts = find_fonts()
        except PdfFontError as exc:
            raise ExportError(exc.message_en, exc.message_zh) from None
    key = load_or_create_export_key(ctx.secrets, ctx.paths.data_dir)
    clean_interrupted_exports(ctx)
    token = _secrets.token_hex(6)
    staging = _staging_dir(out, token)
    work = staging / "spool"  # spooled transcript entries and font subsets; never part of the bag
    tmp = staging / bag_name
    tmp_zip = staging / f"{bag_name}.zip"
    # First the audit entry, then the journal, then files: whatever a kill leaves on disk has an
    # "export started" entry, and the journal lets the cleanup find it.
    trail.record(actor, Action.EXPORT_START, object_type="selection", object=selection_text,
                 detail={"path": str(out), "token": token, "pdf": fonts is not None})
    journal = _Journal(ctx.paths.data_dir, token, {
        "token": token, "out": str(out), "staging": str(staging), "actor": actor.username,
        "workstation": actor.workstation or socket.gethostname(), "pid": os.getpid(), "started_at": now_ms(),
        "selection": selection.describe()})
    # The export reads what it packages on the exporter's behalf, within the exporter's scope: the
    # export.create permission includes reading the selected messages for the package.
    reader = dataclasses.replace(actor, roles=actor.roles | {"reviewer"})
    ex = _Exporter(ctx, reader, selection, tz, progress, cancel)
    ex.head = trail.head()
    ex.exporter = actor
    ex.bag = None
    ex.pdf_fonts = fonts
    ex.review.enabled = review
    ex.pdf_workers = pdf_workers
    renamed = committed = False
    try:
        staging.mkdir(mode=0o700)
        os.chmod(staging, 0o700)  # whatever the umask: the partial bag is plaintext evidence
        work.mkdir()
        plan = ex.plan()
        if not plan:
            raise ExportError("the selection holds no messages", "所选范围内没有消息")
        ex.write(tmp, plan, work)
        corp_name = (ex.custody["archive"]["corp_name"] or ex.custody["archive"]["corpid"] or "")
        c = ex.counts
        info = [
            ("Source-Organization", corp_name),
            ("Bagging-Date", datetime.now().astimezone(tz).date().isoformat()),
            ("Payload-Oxum", f"{ex.bag.octets}.{ex.bag.files}"),
            ("Bag-Size", _human(ex.bag.octets)),
            ("External-Description", description or
             f"WeCom chat evidence: {_plural(c['messages'], 'message')} in "
             f"{_plural(c['sessions'], 'conversation')}, {_plural(c['media_files'], 'media file')}; "
             f"selection {_short_selection(selection)}"),
            ("Bag-Software-Agent", f"wecom-archive-auditor {_app_version()}"),
            ("Contact-Name", actor.username),
            ("Package-Fingerprint", ex.fingerprint),
            ("Package-Fingerprint-Method", "SHA-256 of the manifest-sha256.txt lines of every payload file "
                                           "outside data/transcripts/"),
            ("PDF-Transcripts", "yes" if fonts is not None else "no (left out at export)"),
            ("Export-Key-Algorithm", "Ed25519"),
            ("Export-Key-Fingerprint", key.fingerprint),
        ]
        (tmp / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
        (tmp / "bag-info.txt").write_bytes(
            "".join(f"{k}: {_tag_value(v)}\n" for k, v in info).encode("utf-8"))
        (tmp / "VERIFY.txt").write_bytes(VERIFY_TEXT.encode("utf-8"))
        (tmp / PUBLIC_KEY_FILE).write_bytes(key.public_pem)
        tag = io.StringIO()
        for name in TAG_FILES:
            tag.write(f"{_hash_file(tmp / name)}  {name}\n")
        tag_bytes = tag.getvalue().encode("utf-8")
        (tmp / "tagmanifest-sha256.txt").write_bytes(tag_bytes)
        (tmp / SIGNATURE_FILE).write_bytes(key.sign_b64(tag_bytes))
        fingerprint = ex.fingerprint
        if as_zip:
            _zip_folder(tmp, tmp_zip, bag_name, cancel=ex._check_cancel)
            shutil.rmtree(tmp)
        ex._check_cancel()
        counts = dict(ex.counts)
        export_id = ctx.db.ids.next_id()
        final = tmp_zip if as_zip else tmp
        journal.update(fingerprint=fingerprint)  # from here a kill may leave the package at ``out``
        with ctx.db.write() as conn:
            conn.execute(insert(Export).values(
                id=export_id, created_at=now_ms(), actor=actor.username[:191],
                workstation=(actor.workstation or socket.gethostname())[:255],
                selection=selection_text, out_path=str(out),
                fingerprint=fingerprint, key_fingerprint=key.fingerprint, counts=json.dumps(counts)))
            trail.record(actor, Action.EXPORT, object_type="package", object=fingerprint,
                         detail={"path": str(out), "key_fingerprint": key.fingerprint, "counts": counts,
                                 "selection": selection.describe(), "token": token}, conn=conn)  # the last statement
            if out.exists() or out.is_symlink():
                raise ExportError(f"{out} appeared while the package was being written; it was left as it is",
                                  f"写证据包期间 {out} 出现了：已保持原样，未做改动")
            os.rename(final, out)  # inside the transaction: no record without the package, and no package
            renamed = True  # without its record (undone below if the commit fails)
        committed = True
    except BaseException as exc:
        if ex.bag is not None:
            ex.bag.abort()
        if renamed and not committed:
            shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
        with contextlib.suppress(Exception):  # the export's own error is the one to report
            trail.record(actor, Action.EXPORT, object_type="selection", object=selection_text, outcome=FAILED,
                         detail={"error": "cancelled" if isinstance(exc, ExportCancelled) else str(exc)[:500],
                                 "token": token})
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        journal.close()
    return ExportResult(out, fingerprint, key.fingerprint, counts, export_id)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def describe_counts(c: dict) -> str:
    """One English sentence on what a package holds, e.g. for the command line."""
    text = (f"{_plural(c['messages'], 'message')} in {_plural(c['sessions'], 'conversation')}, "
            f"{_plural(c['media_files'], 'media file')}")
    if c.get("hits"):
        text += f", {_plural(c['hits'], 'hit')}"
    if c.get("pdf_files"):
        text += f", {_plural(c['pdf_files'], 'PDF transcript')}"
    if c.get("media_missing"):
        text += f"; {c['media_missing']} media not stored in the archive (listed in the load file)"
    return text + "."


_STORED_EXTS = {"jpg", "jpeg", "png", "gif", "webp", "mp4", "amr", "silk", "mp3", "zip", "rar", "7z", "gz",
                "docx", "xlsx", "pptx", "pdf", "mov", "heic"}


def _zip_folder(folder: Path, target: Path, name: str, *, cancel: Callable[[], None]) -> None:
    """``folder`` as a zip at ``target`` with every file under ``name/``; already-compressed media
    are stored, everything else deflated. Streams file by file (zipfile copies in chunks)."""
    import zipfile

    with zipfile.ZipFile(target, "x", allowZip64=True) as zf:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for fname in sorted(filenames):
                cancel()
                path = Path(dirpath, fname)
                arc = f"{name}/{path.relative_to(folder).as_posix()}"
                ext = fname.rsplit(".", 1)[-1].lower()
                method = zipfile.ZIP_STORED if ext in _STORED_EXTS else zipfile.ZIP_DEFLATED
                zf.write(path, arc, compress_type=method)


def export_records(db, *, fingerprint: str | None = None, key_fingerprint: str | None = None,
                   limit: int = 100) -> list[dict]:
    """Exports recorded in the archive, newest first (optionally of one package or one key)."""
    q = select(*Export.__table__.c).order_by(Export.created_at.desc()).limit(limit)
    if fingerprint:
        q = q.where(Export.fingerprint == fingerprint)
    if key_fingerprint:
        q = q.where(Export.key_fingerprint == key_fingerprint)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
