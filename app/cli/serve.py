"""``wecom-auditor serve``: the headless server (REST API + background jobs) for a team."""

from __future__ import annotations

import signal

import click

from app.core.context import AppContext

from .base import common, main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", type=click.IntRange(0, 65535), default=9002, show_default=True,
              help="Port (msg-server's is 9002; 0 picks a free one).")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True, help="Request threads.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Background jobs run at the same time.")
@click.option("--no-jobs", is_flag=True, help="Serve the API only; leave the background jobs to other instances.")
@common
def serve(ctx: AppContext, host: str, port: int, threads: int, concurrency: int, no_jobs: bool) -> None:
    """Run the server: the REST API (msg-server's /api/v1, /api/v2, /health, /metrics,
    /openapi.json) and the background jobs of the queue (scheduled syncs, media downloads).

    Secrets come from the environment: WECOM_AUDITOR_INNER_APP_CODE (msg-server's InnerSrvAppCode)
    and WECOM_AUDITOR_V1_TOKEN (the login token of the account /api/v1 acts as). Several instances
    may share one MySQL and one Redis queue. Ctrl+C or SIGTERM stops it after the running jobs.
    """
    from datetime import datetime

    from app.server.run import ServerInstance

    def report(event) -> None:
        if event.kind != "started" and event.job is not None:
            click.echo(f"{datetime.now():%H:%M:%S} {event.kind} {event.job.topic} {event.job.id}"
                       + (f": {event.detail}" if event.detail else ""), err=True)

    instance = ServerInstance(ctx, host=host, port=port, threads=threads, concurrency=concurrency,
                              workers=not no_jobs, on_event=report)
    address = instance.start()
    presses = [0]

    def on_signal(signum, frame):
        presses[0] += 1
        instance.stop(cancel_running=presses[0] > 1)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"Serving {address} (instance {instance.instance_id}); jobs: {'off' if no_jobs else 'on'}. "
               f"Ctrl+C stops.", err=True)
    try:
        instance.serve_forever()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        instance.stop()
        instance.join()
    click.echo("Server stopped.", err=True)
