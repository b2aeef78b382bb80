"""Commands for background jobs: ``worker`` (headless consumers) and ``jobs`` (list, retry, delete,
requeue)."""

from __future__ import annotations

import json
import os
import signal
from contextlib import contextmanager
from datetime import datetime

import click

from app.core.context import AppContext
from app.core.jobs import TOPICS, build_worker
from app.core.queue import DEAD, READY, RUNNING, SCHEDULED, STATES, QueueError, QueueService, open_queue

from .base import LIMIT, common, current_actor, main


@contextmanager
def _queue_of(ctx: AppContext):
    """The configured queue, checked to be reachable; its errors become one-line messages."""
    try:
        queue = open_queue(ctx)
    except ValueError as exc:
        raise click.ClickException(f"queue_url: {exc}") from None
    try:
        try:
            queue.now_ms()  # reach it now: a wrong address should say so before anything else
        except QueueError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            yield queue
        except QueueError as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        queue.close()


def _time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else "-"


def _split_topics(values: tuple[str, ...]) -> list[str]:
    topics = [t.strip() for v in values for t in v.split(",") if t.strip()]
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown:
        raise click.BadParameter(f"unknown topic(s) {', '.join(unknown)}; known: {', '.join(TOPICS)}",
                                 param_hint="--topics")
    return topics or list(TOPICS)


@main.command()
@click.option("--topics", multiple=True, metavar="TOPIC[,TOPIC]",
              help=f"Only these topics (repeatable or comma-separated; default: all of {', '.join(TOPICS)}).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Jobs run at the same time (threads).")
@click.option("--until-idle", is_flag=True, help="Exit when no job is due and none is running (for scripts).")
@common
def worker(ctx: AppContext, topics: tuple[str, ...], concurrency: int, until_idle: bool) -> None:
    """Run background jobs (media download retries, scheduled syncs) until Ctrl+C.

    Ctrl+C (or SIGTERM) once: finish the running jobs, take no new ones, exit. Twice: interrupt the
    running jobs at their next safe point (they go back to the queue). Several workers, on this or
    other machines, may share one queue: each job runs once at a time.
    """
    chosen = _split_topics(topics)
    with _queue_of(ctx) as queue:
        def report(event) -> None:
            if event.kind == "started":
                return
            job = event.job
            line = f"{datetime.now():%H:%M:%S} {event.kind}"
            if job is not None:
                line += f" {job.topic} {job.id} ({event.seconds:.1f} s)"
            if event.detail:
                line += f": {event.detail}"
            click.echo(line, err=True)

        w, close = build_worker(ctx, queue, topics=chosen, concurrency=concurrency, until_idle=until_idle,
                                on_event=report)
        presses = [0]

        def on_signal(signum, frame):
            presses[0] += 1
            if presses[0] == 1:
                w.stop()
                click.echo("\nStopping after the current jobs… (Ctrl+C again to interrupt them)", err=True)
            elif presses[0] == 2:
                w.stop(cancel_running=True)
                click.echo("\nInterrupting the running jobs…", err=True)
            else:
                raise KeyboardInterrupt

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            click.echo(f"Worker on {queue.description}: {', '.join(chosen)}, {concurrency} at a time. "
                       f"Ctrl+C stops after the current jobs.", err=True)
            w.start()  # re-enqueues pending media and keeps the sync schedule first
            click.echo("Waiting for jobs…", err=True)
            while not w.join(timeout=0.5):  # short joins: the signal handler runs between them
                pass
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            w.stop(cancel_running=True)  # a no-op after a clean stop; after an abort, give the jobs back
            w.join(30)
            close()
        click.echo(f"Worker stopped: {w.processed} job(s) run.", err=True)


@main.group(invoke_without_command=True)
@click.option("--state", "states", type=click.Choice(STATES), multiple=True,
              help="Only jobs in this state (repeatable; default: all).")
@click.option("--topic", help="Only jobs of this topic.")
@click.option("--limit", type=LIMIT, default=50, show_default=True, help="Jobs listed per state.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the queue, counts and jobs.")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="WECOM_AUDITOR_DATA_DIR",
              help="Keep settings, archive and media under DIR (default: the user data folder).")
@click.option("--db", "db_url", metavar="URL", help="Database URL (sqlite:///file or mysql+pymysql://...).")
@click.pass_context
def jobs(click_ctx: click.Context, states, topic, limit, as_json, data_dir, db_url) -> None:
    """Background jobs: scheduled, ready, running and dead, with counts and last errors.

    \b
    wecom-auditor jobs [--state dead] [--json]   list them
    wecom-auditor jobs retry ID                  run a dead job again (with a fresh attempt budget)
    wecom-auditor jobs delete ID                 remove a job
    wecom-auditor jobs requeue                   enqueue what the archive database says is missing
    """
    obj = click_ctx.ensure_object(dict)
    if db_url:
        obj["db_url"] = db_url
    if click_ctx.invoked_subcommand is None:
        _list_jobs(data_dir=data_dir, db_url=db_url, states=states, topic=topic, limit=limit, as_json=as_json)
    elif data_dir:
        os.environ["WECOM_AUDITOR_DATA_DIR"] = data_dir  # the subcommand reads it, as after `main --data-dir`


def _when(job) -> int | None:
    if job.state == RUNNING:
        return job.lease_until
    if job.state == DEAD:
        return job.updated_at
    return job.execute_at


@common
def _list_jobs(ctx: AppContext, states, topic, limit, as_json) -> None:
    with _queue_of(ctx) as queue:
        service = QueueService(queue, ctx.db)
        actor = current_actor(ctx)
        counts = service.counts(actor, topic=topic)
        listed = [j for st in (states or STATES) for j in service.jobs(actor, state=st, topic=topic, limit=limit)]
    if as_json:
        click.echo(json.dumps({"queue": queue.description, "counts": counts,
                               "jobs": [j.to_dict() for j in listed]}, ensure_ascii=False))
        return
    c = counts
    click.echo(f"Queue: {queue.description}")
    click.echo(f"scheduled {c[SCHEDULED]} · ready {c[READY]} · running {c[RUNNING]} · dead {c[DEAD]}")
    if not listed:
        return
    click.echo("")
    click.echo(f"{'STATE':<10} {'ID':<28} {'TOPIC':<16} {'TRIES':>7}  {'WHEN':<19}  LAST ERROR")
    for j in listed:
        error = " ".join((j.last_error or "").split())
        if len(error) > 100:
            error = error[:99] + "…"
        when = _time(_when(j))
        click.echo(f"{j.state:<10} {j.id:<28} {j.topic:<16} {f'{j.attempts}/{j.max_attempts}':>7}  {when:<19}  "
                   f"{error}".rstrip())


@jobs.command("retry")
@click.argument("job_id", metavar="ID")
@common
def jobs_retry(ctx: AppContext, job_id: str) -> None:
    """Run a dead (or waiting) job again now."""
    with _queue_of(ctx) as queue:
        service = QueueService(queue, ctx.db)
        try:
            done = service.retry(current_actor(ctx), job_id)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if not done:
            job = queue.get(job_id)
            if job is None:
                raise click.ClickException(f"there is no job {job_id!r} (see `wecom-auditor jobs`)")
            raise click.ClickException(f"job {job_id} is {job.state}: only a dead or waiting job can be retried")
    click.echo(f"Job {job_id} will run again now.")


@jobs.command("delete")
@click.argument("job_id", metavar="ID")
@common
def jobs_delete(ctx: AppContext, job_id: str) -> None:
    """Remove a job, whatever its state (a media download removed this way is re-enqueued by the
    next `jobs requeue` or worker start while the file is still pending)."""
    with _queue_of(ctx) as queue:
        try:
            done = QueueService(queue, ctx.db).delete(current_actor(ctx), job_id)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    if not done:
        raise click.ClickException(f"there is no job {job_id!r} (see `wecom-auditor jobs`)")
    click.echo(f"Job {job_id} deleted.")


@jobs.command("requeue")
@common
def jobs_requeue(ctx: AppContext) -> None:
    """Enqueue a download job for every pending media file that has none, and the sync schedule of the
    settings (the archive database is the source of truth: use this after Redis lost its data)."""
    with _queue_of(ctx) as queue:
        created = QueueService(queue, ctx.db).requeue(current_actor(ctx), ctx.settings)
    click.echo(f"Re-enqueued {created} job(s) from the archive database.")
