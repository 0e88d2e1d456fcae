"""The worker class of the Procfile's ``worker`` and ``lane`` processes: jobs run in the worker, not a fork.

RQ's default ``Worker`` forks a work-horse per job. Everything the fork sets up dies with it: the database
connection and its pool, every statement SQLAlchemy compiled, the connections to Redis and Amazon. A small
merchant's sync is a few dozen queries, so a fork redid all of that for 80 ms of work:
``bench/profile_sync_job.py --worker-class`` measured a no-change sync at 416 ms a job through a forking
worker (314 ms of CPU) against 276 ms (144 ms of CPU) through one that runs the job itself, and the load test
(``bench/bench_load.py``) needs thousands of them per cycle.

:class:`InProcessWorker` is RQ's ``SimpleWorker``: the job runs in the worker's process, and the database
pool and compiled statements outlive it. Jobs are written for that (``jobs/context.py`` ends each job's log
context; every job opens and closes its own session and Redis connection), and the test suite's
``run_sync`` has always run them so.

What a fork gave and this keeps:

- a worker SIGKILLed in the middle of a job is a crash like any other: the per-account lock expires and
  the next job resumes the run (``tests/integration/test_concurrent_workers.py`` kills workers running
  this class);
- "stop now" (``jobs.queue.stop_workers``, a cold shut-down) still ends the job at once: killing the
  work-horse is killing this process, as a crash would (:meth:`InProcessWorker.kill_horse`);
- a job's time limit is RQ's ``SIGALRM`` in the worker's main thread.

What it does not keep: a job that crashes the interpreter takes the worker with it (the process manager
starts it again), and a job's memory peak (a million-SKU plan, at most 250 MB, issue 12 §3) is the
worker's from then on. CSV imports keep RQ's forking worker (the Procfile's ``importer``).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from rq.worker import SimpleWorker, WorkerStatus

#: How often (seconds) a worker does RQ's maintenance, where it takes over the scheduler of delayed jobs from
#: a worker that died (RQ's default is every 600 s, and an idle worker looks only when its 405-s wait for a
#: job ends). Until then no delayed job (a follow-up poll, a change's run) is enqueued: a SIGKILLed worker's
#: replacement left them waiting for ten minutes.
MAINTENANCE_INTERVAL = 60


class InProcessWorker(SimpleWorker):
    """Run each job in the worker's own process; a kill of the job ends the process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["maintenance_interval"] = min(int(kwargs.get("maintenance_interval") or MAINTENANCE_INTERVAL),
                                             MAINTENANCE_INTERVAL)
        super().__init__(*args, **kwargs)

    @property
    def dequeue_timeout(self) -> int:
        """Wait for a job at most until the next maintenance is due (see ``MAINTENANCE_INTERVAL``)."""
        return min(super().dequeue_timeout, MAINTENANCE_INTERVAL)

    @property
    def horse_pid(self) -> int:
        """Return this process's id while a job runs in it (RQ's "kill-horse" then reaches it), else 0."""
        return os.getpid() if self.get_state() == WorkerStatus.BUSY else 0

    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """End the running job now: it runs in this process, so end the process, as a crash would.

        RQ calls this for ``stop_workers``' "kill-horse" command and a cold shut-down (a second SIGINT or
        SIGTERM while busy). The job's run resumes with the next job for its account.
        """
        self.log.warning("Worker %s: ending the job it runs, and itself, now", self.name)
        os.kill(os.getpid(), signal.SIGKILL)


#: What the Procfile passes to ``rq worker --worker-class``.
WORKER_CLASS = f"{InProcessWorker.__module__}.{InProcessWorker.__qualname__}"

__all__ = ["WORKER_CLASS", "InProcessWorker"]
