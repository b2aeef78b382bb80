"""Running one server instance: the API on waitress, the queue's workers, the heartbeat."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from app.core import server_status

if TYPE_CHECKING:
    from waitress.server import BaseWSGIServer, MultiSocketServer

    from app.core.context import AppContext
    from app.core.queue import JobQueue, Worker, WorkerEvent

log = logging.getLogger(__name__)

APP_CODE_ENV = "WECOM_AUDITOR_INNER_APP_CODE"
V1_TOKEN_ENV = "WECOM_AUDITOR_V1_TOKEN"


class ServerInstance:
    """One ``serve``: call :meth:`start`, then :meth:`serve_forever` (blocks) and :meth:`stop` from a
    signal handler or another thread."""

    def __init__(self, ctx: AppContext, *, host: str = "127.0.0.1", port: int = 9002, threads: int = 8,
                 topics: Collection[str] | None = None, concurrency: int = 2, workers: bool = True,
                 on_event: Callable[[WorkerEvent], None] | None = None) -> None:
        self.ctx = ctx
        self.host, self.port, self.threads = host, port, threads
        self.topics, self.concurrency, self.with_workers = topics, concurrency, workers
        self.on_event = on_event
        self.instance_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"
        self._stop = threading.Event()
        self._server: BaseWSGIServer | MultiSocketServer | None = None
        self._worker: Worker | None = None
        self._close_worker: Callable[[], None] | None = None
        self._queue: JobQueue | None = None
        self._beat: threading.Thread | None = None

    def start(self) -> str:
        """Open the API socket, start the workers and the heartbeat; returns the address served."""
        from waitress.server import MultiSocketServer, create_server

        from .api import make_app

        app = make_app(self.ctx, app_code=os.environ.get(APP_CODE_ENV) or None,
                       v1_token=os.environ.get(V1_TOKEN_ENV) or None, instance_id=self.instance_id)
        server = self._server = create_server(app, host=self.host, port=self.port, threads=self.threads,
                                              ident="wecom-auditor", clear_untrusted_proxy_headers=True)
        # A host name with several addresses (localhost: 127.0.0.1 and ::1) gets a socket on each,
        # and a MultiSocketServer has no effective_port of its own.
        if isinstance(server, MultiSocketServer):
            port = server.effective_listen[0][1]
        else:
            port = server.effective_port  # type: ignore[attr-defined]  # set in __init__; missing from the stubs
        address = f"http://{self.host}:{port}"
        server_status.register(self.ctx.db, self.instance_id, address, _version())
        if self.with_workers:
            from app.core.jobs import TOPICS, build_worker
            from app.core.queue import open_queue

            queue = self._queue = open_queue(self.ctx)
            worker, self._close_worker = build_worker(
                self.ctx, queue, topics=self.topics or TOPICS, concurrency=self.concurrency,
                name=f"serve-{self.instance_id}", on_event=self.on_event)
            self._worker = worker
            worker.start()
        beat = self._beat = threading.Thread(target=self._heartbeat, name="server-heartbeat", daemon=True)
        beat.start()
        return address

    def _heartbeat(self) -> None:
        while not self._stop.wait(server_status.HEARTBEAT_S):
            try:
                server_status.beat(self.ctx.db, self.instance_id)
            except Exception as exc:  # noqa: BLE001 — a database hiccup must not end the server
                log.warning("heartbeat failed: %s", type(exc).__name__)

    def serve_forever(self) -> None:
        assert self._server is not None, "start() first"
        try:
            self._server.run()
        except (OSError, ValueError):
            if not self._stop.is_set():
                raise

    def stop(self, *, cancel_running: bool = False) -> None:
        """Stop taking requests and jobs; running jobs finish (or go back to the queue)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._worker is not None:
            self._worker.stop(cancel_running=cancel_running)
        if self._server is not None:
            self._server.close()

    def join(self) -> None:
        if self._worker is not None:
            self._worker.stop(cancel_running=True)
            self._worker.join(30)
            assert self._close_worker is not None and self._queue is not None  # set with the worker
            self._close_worker()
            self._queue.close()
        try:
            server_status.beat(self.ctx.db, self.instance_id, stopped=True)
        except Exception:  # noqa: BLE001
            log.warning("could not record this instance's stop")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("wecom-archive-auditor")
    except metadata.PackageNotFoundError:
        return "unknown"
