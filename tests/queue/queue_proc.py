"""A consumer in a process of its own, for the queue tests (run as a script, never collected).

    python tests/queue/queue_proc.py hold  QUEUE_URL DB_URL TOPIC        reserve one job, print it, hang
    python tests/queue/queue_proc.py drain QUEUE_URL DB_URL TOPIC IDLE   wait for a job, then reserve and ack until IDLE s idle

QUEUE_URL "" means the embedded queue in DB_URL. Each delivered job id is printed as "got <id>".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv: list[str]) -> int:
    from app.core.queue import open_queue
    from app.core.store.db import open_database

    mode, queue_url, db_url, topic = argv[:4]
    db = open_database(db_url) if not queue_url else None
    queue = open_queue(queue_url, db, poll_interval=0.02)
    print("ready", flush=True)
    if mode == "hold":
        job = queue.reserve([topic], timeout=30)
        print(f"got {job.id if job else '-'}", flush=True)
        time.sleep(120)  # holding the lease until the test kills us
        return 0
    idle = float(argv[4])
    first = True
    while True:
        job = queue.reserve([topic], timeout=30 if first else idle)  # the test enqueues once all are ready
        first = False
        if job is None:
            return 0
        print(f"got {job.id}", flush=True)
        if not queue.ack(job):
            print(f"lost {job.id}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
