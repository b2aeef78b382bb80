"""The CPU-bound step of a sync: RSA random key → DecryptData → parse, for a chunk of items.

It runs in SDK host processes (:mod:`app.core.sdk.host`; see pipeline.py for why processes, not
threads): :class:`DecryptPool` keeps ``workers`` hosts, each with the library and the private keys
loaded once, and hands them chunks; a host runs :func:`app.core.sdk.decrypt.decrypt_item` on each item
and answers without the items (:func:`~app.core.sdk.decrypt.with_items` puts them back here).

A host that dies on a chunk (Tencent's DecryptData kills its process on some inputs) costs one
entry: the pool starts a new host and decrypts that chunk's items one at a time, so the item that
kills a host again is the one rejected (stage ``decrypt``, "the library crashed on it"); the others
are decrypted as usual. Inputs known to crash the library are refused before the call
(:func:`app.core.sdk.binding.decrypt_data`).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import queue
import threading
import time

from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import STAGE_DECRYPT, Decrypted, Rejected, with_items
from app.core.sdk.hosted import LibrarySpec, SdkHost, SdkHostDied

log = logging.getLogger(__name__)

class DecryptPool:
    """``workers`` SDK hosts decrypting chunks of items in parallel; see the module docstring.

    :meth:`submit` returns a Future of the chunk's outcomes (one per item, in order). Thread-safe.
    :meth:`close` ends the hosts (pending chunks are cancelled; closing again does nothing).
    ``niceness`` lowers the hosts' CPU priority (the window's sync leaves the CPU to the GUI). The
    hosts start at once, in parallel, so that they are ready when the first chunk comes.
    :attr:`busy_seconds` adds up how long the hosts had a chunk in hand (a sync divides it by the
    pool's age, from :attr:`created`, to see whether they starved)."""

    def __init__(self, library: LibrarySpec, private_keys: dict[int, str], workers: int, *, niceness: int = 0):
        self.library = library
        self.workers = max(1, workers)
        self._pems = {int(k): v for k, v in private_keys.items()}
        # (entries, their future); None tells a host thread to stop
        self._jobs: queue.Queue[tuple[list[ChatDataItem], cf.Future[list[Decrypted | Rejected]]] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._hosts: list[SdkHost] = []
        self._closed = False
        self.crashes = 0  # entries rejected because the library crashed on them
        self.created = time.monotonic()
        self._busy = 0.0
        self._busy_lock = threading.Lock()
        for n in range(self.workers):
            host = SdkHost(library, name=f"sdk-decrypt-{n + 1}", niceness=niceness)
            self._hosts.append(host)
            t = threading.Thread(target=self._serve, args=(host,), name=f"decrypt-{n + 1}", daemon=True)
            self._threads.append(t)
            t.start()

    def submit(self, items: list[ChatDataItem]) -> cf.Future[list[Decrypted | Rejected]]:
        fut: cf.Future[list[Decrypted | Rejected]] = cf.Future()
        if self._closed:
            raise RuntimeError("the decrypt pool is closed")
        self._jobs.put((items, fut))
        return fut

    @property
    def busy_seconds(self) -> float:
        """Seconds the hosts spent on chunks so far, summed over the hosts (at most ``workers``
        times the pool's age)."""
        with self._busy_lock:
            return self._busy

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join()
        for host in self._hosts:
            host.close()
        while True:  # anything still queued will never run
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[1].cancel()

    # ------------------------------------------------------------------ host threads
    def _ready(self, host: SdkHost) -> None:
        if not host.running:
            host.start()
            host.request("keys", self._pems)

    def _serve(self, host: SdkHost) -> None:
        # Start before the first chunk comes; a host that cannot start fails that chunk (_decrypt
        # starts it again and raises).
        with contextlib.suppress(Exception):
            self._ready(host)
        while True:
            job = self._jobs.get()
            if job is None:
                return
            items, fut = job
            if not fut.set_running_or_notify_cancel():
                continue
            started = time.monotonic()
            try:
                fut.set_result(self._decrypt(host, items))
            except BaseException as exc:  # a host that cannot even start: the sync stops with it
                fut.set_exception(exc)
            finally:
                with self._busy_lock:
                    self._busy += time.monotonic() - started

    def _decrypt(self, host: SdkHost, items: list[ChatDataItem]) -> list[Decrypted | Rejected]:
        self._ready(host)
        try:
            return with_items(items, host.request("decrypt", items))
        except SdkHostDied as died:
            log.warning("an SDK host died on a chunk of %d entries (seq %s-%s): %s; isolating the entry",
                        len(items), items[0].seq, items[-1].seq, died)
        outcomes: list[Decrypted | Rejected] = []
        for item in items:  # one at a time, so a second death names its entry
            self._ready(host)
            try:
                outcomes.extend(with_items([item], host.request("decrypt", [item])))
            except SdkHostDied as died:
                self.crashes += 1
                how = died.how + (f"; {died.reason}" if died.reason else "")
                log.warning("Tencent's library crashed on the entry seq %s (%s): quarantined", item.seq, how)
                outcomes.append(Rejected(item, STAGE_DECRYPT, f"Tencent's library crashed on this entry ({how}); "
                                                              f"it is kept here, encrypted, as received"))
        return outcomes
