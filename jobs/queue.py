"""Queues, enqueueing and cron registration: the only module that imports ``rq``.

Nothing here connects at import time: every function takes a Redis URL or connection, or reads ``REDIS_URL``
from the running Flask app (in a request) or from the environment (in a worker or a script).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from redis import Redis
from rq import Queue, Retry, SimpleWorker, Worker
from rq import cron as rq_cron
from rq.command import send_kill_horse_command, send_shutdown_command
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.worker import WorkerStatus

log = logging.getLogger(__name__)

SYNC_QUEUE = "sync"
#: The job that runs (or resumes) one account's sync.
SYNC_JOB = "jobs.sync.sync_account"
#: A sync of a million SKUs waits on Amazon's createFeed rate (5 per 5 minutes) between its feeds.
SYNC_JOB_TIMEOUT = 4 * 3600


def _config() -> Mapping[str, Any]:
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config
    from wizard.config import from_environment

    return from_environment()


def redis_connection(url: str | None = None) -> Redis:
    """Return a Redis connection for RQ (bytes responses) to ``url``, or to the configured ``REDIS_URL``."""
    from wizard.redis_connection import open_redis

    return open_redis(url or _config()["REDIS_URL"])


def sync_queue(connection: Redis) -> Queue:
    """Return the queue the sync jobs run on."""
    return Queue(SYNC_QUEUE, connection=connection)


def enqueue_sync(account_id: int, trigger: str, *, connection: Redis, delay: float | None = None) -> Job:
    """Enqueue a sync of ``account_id`` now, or in ``delay`` seconds (needs a worker ``--with-scheduler``)."""
    queue = sync_queue(connection)
    options: dict[str, Any] = {"job_timeout": SYNC_JOB_TIMEOUT, "result_ttl": 3600, "failure_ttl": 7 * 86400,
                               "description": f"sync account {account_id} ({trigger})"}
    if delay:
        return queue.enqueue_in(timedelta(seconds=delay), SYNC_JOB, account_id, trigger, **options)
    return queue.enqueue(SYNC_JOB, account_id, trigger, **options)


#: How long a cron tick's queued sync keeps the next ticks from queueing another for the same account. A
#: job lost with its worker therefore delays that account's next cron sync by this much at most.
CRON_QUEUED_TTL = 3600


def _cron_queued_key(account_id: int) -> str:
    return f"sync:cron-queued:{account_id}"


def enqueue_syncs(account_ids: list[int], trigger: str, *, connection: Redis, chunk: int = 500) -> int:
    """Enqueue a sync of each of ``account_ids`` now, ``chunk`` jobs per Redis round trip; return how many.

    The same jobs as :func:`enqueue_sync`, written with RQ's ``enqueue_many`` in one pipeline per chunk: the
    cron enqueues thousands of accounts each cycle, and one round trip (or several) per job took seconds.
    For the cron's trigger an account whose last cron sync has not started yet is skipped: that job will
    send everything, and when a cycle overruns (the load test's 2,000 merchants on 4 workers) a second copy
    per tick only lengthened the queue it was waiting in.
    """
    queue = sync_queue(connection)
    enqueued = 0
    for start in range(0, len(account_ids), chunk):
        accounts = account_ids[start:start + chunk]
        if trigger == "cron":
            with connection.pipeline() as pipe:
                for account_id in accounts:
                    pipe.set(_cron_queued_key(account_id), "1", nx=True, ex=CRON_QUEUED_TTL)
                accounts = [account_id for account_id, fresh in zip(accounts, pipe.execute(), strict=True)
                            if fresh]
        batch = [Queue.prepare_data(SYNC_JOB, (account_id, trigger), timeout=SYNC_JOB_TIMEOUT,
                                    result_ttl=3600, failure_ttl=7 * 86400,
                                    description=f"sync account {account_id} ({trigger})")
                 for account_id in accounts]
        if batch:
            with connection.pipeline() as pipe:
                queue.enqueue_many(batch, pipeline=pipe)
                pipe.execute()
        enqueued += len(batch)
    return enqueued


def _rerun_key(account_id: int) -> str:
    return f"sync:rerun:{account_id}"


def enqueue_rerun(account_id: int, *, connection: Redis, delay: float | None = None) -> bool:
    """Enqueue a run for changes no run has planned yet, unless one is already on its way; return if enqueued.

    Any sync job other than a follow-up does this run's work, so each clears the key when it starts
    (:func:`rerun_started`).
    """
    if not connection.set(_rerun_key(account_id), "1", nx=True, ex=int(delay or 0) + 600):
        return False
    enqueue_sync(account_id, "change", connection=connection, delay=delay)
    return True


def rerun_started(account_id: int, connection: Redis) -> None:
    """A sync job that may plan has started: the next pending change and cron tick may queue again."""
    connection.delete(_rerun_key(account_id), _cron_queued_key(account_id))


#: CSV imports run on their own queue (worked by the ``importer`` process), never behind a long sync.
IMPORT_QUEUE = "imports"
IMPORT_JOB = "jobs.catalog_import.import_catalog"
#: An import resumes at its last committed chunk, so a job lost with its worker is simply run again.
IMPORT_RETRIES = 2


def import_queue(connection: Redis) -> Queue:
    """Return the queue the CSV import jobs run on."""
    return Queue(IMPORT_QUEUE, connection=connection)


def enqueue_import(import_id: int, *, connection: Redis | None = None) -> Job:
    """Enqueue the stored CSV import ``import_id`` (``wizard.catalog.importer.start_import`` calls this)."""
    redis = connection or redis_connection()
    try:
        return import_queue(redis).enqueue(
            IMPORT_JOB, import_id, job_id=f"catalog-import-{import_id}", job_timeout=3600, result_ttl=3600,
            failure_ttl=7 * 86400, retry=Retry(max=IMPORT_RETRIES), description=f"catalog import {import_id}")
    finally:
        if connection is None:
            redis.close()


URGENT_QUEUE = "urgent"
#: The urgent lane's job (issue 11 §1): stock-outs sent at once with patchListingsItem.
URGENT_JOB = "jobs.urgent.urgent_account"


def _urgent_key(account_id: int) -> str:
    return f"urgent:queued:{account_id}"


#: A pass that is queued and has not started (one that started reads the newest state itself).
_WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.CREATED)


def enqueue_urgent(account_id: int, *, connection: Redis) -> bool:
    """Enqueue the urgent lane for ``account_id`` unless a pass is waiting to start; return if enqueued.

    The waiting pass's job id is kept in Redis and its status checked, so a pass lost with a killed worker
    (taken from the queue, never started) does not silence the lane.
    """
    waiting = connection.get(_urgent_key(account_id))
    if waiting is not None:
        job_id = waiting.decode() if isinstance(waiting, bytes) else str(waiting)
        try:
            if Job.fetch(job_id, connection=connection).get_status() in _WAITING:
                return False
        except NoSuchJobError:
            pass
    job = Queue(URGENT_QUEUE, connection=connection).enqueue(
        URGENT_JOB, account_id, job_timeout=600, result_ttl=600, failure_ttl=86400,
        description=f"urgent lane of account {account_id}")
    connection.set(_urgent_key(account_id), job.id, ex=3600)
    return True


def urgent_started(account_id: int, connection: Redis) -> None:
    """Let the next change enqueue another pass (called when a pass starts reading)."""
    connection.delete(_urgent_key(account_id))


#: The cron's fan-out job (a second or two) goes on the queue every worker and the lane take first: on the
#: ``sync`` queue it waited behind an overrunning cycle's backlog (399 s in the 2,000-merchant load test).
CRON_FAN_OUT_QUEUE = URGENT_QUEUE


def register_cron(interval: int) -> None:
    """Register the interval job that enqueues a sync of every connected account (from ``cron_config.py``).

    ``rq cron`` enqueues an interval job at once when it starts, then every ``interval`` seconds.
    """
    rq_cron.register(_sync_all_func(), CRON_FAN_OUT_QUEUE, interval=interval, job_timeout=300,
                     result_ttl=3600, name="sync-all-accounts")


def _sync_all_func() -> Any:
    # rq.cron wants the callable itself; import it late so importing this module stays cheap.
    from jobs.sync import enqueue_all_syncs

    return enqueue_all_syncs


def cron_scheduler(connection: Redis, interval: int) -> rq_cron.CronScheduler:
    """Return a cron scheduler with the sync job registered (tests drive it with ``enqueue_jobs()``)."""
    scheduler = rq_cron.CronScheduler(connection=connection)
    scheduler.register(_sync_all_func(), CRON_FAN_OUT_QUEUE, interval=interval, job_timeout=300,
                       result_ttl=3600, name="sync-all-accounts")
    return scheduler


def current_job_id() -> str | None:
    """Return the id of the RQ job this code runs in, or None outside a job."""
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else None


__all__ = [
    "IMPORT_QUEUE",
    "SYNC_QUEUE",
    "WORKER_CLASS",
    "InProcessWorker",
    "enqueue_import",
    "import_queue",
    "cron_scheduler",
    "current_job_id",
    "enqueue_rerun",
    "enqueue_sync",
    "enqueue_syncs",
    "redis_connection",
    "rerun_started",
    "register_cron",
    "enqueue_urgent",
    "sync_queue",
]


def stop_workers(connection: Redis) -> list[str]:
    """Ask every worker to stop now, killing the job it runs; return their names.

    A job cut short is resumed by the next run, as after a crash. Without this a worker's warm shut-down waits
    for its job, which then outlives everything it talks to (``bin/dev`` stops Redis and the sandbox next).
    """
    names = [worker.name for worker in Worker.all(connection=connection)]
    for name in names:
        send_kill_horse_command(connection, name)
        send_shutdown_command(connection, name)
    return names


# ---- the worker class of the Procfile's worker and lane (issue 12 §4) ----------------------------------
#
# RQ's default ``Worker`` forks a work-horse per job. Everything the fork sets up dies with it: the database
# connection and its pool, every statement SQLAlchemy compiled, the connections to Redis and Amazon. A small
# merchant's sync is a few dozen queries, so a fork redid all of that for 80 ms of work:
# ``bench/profile_sync_job.py --worker-class`` measured a no-change sync at 416 ms a job through a forking
# worker (314 ms of CPU) against 276 ms (144 ms of CPU) through one that runs the job itself, and the load
# test (``bench/bench_load.py``) needs thousands of them per cycle. Jobs are written for that
# (``jobs/context.py`` ends each job's log context; every job opens and closes its own session and Redis
# connection), and the test suite's ``run_sync`` has always run them so.
#
# What a fork gave and this keeps: a worker SIGKILLed in the middle of a job is a crash like any other (the
# per-account lock expires and the next job resumes the run; ``tests/integration/test_concurrent_workers.py``
# kills workers of this class); "stop now" (``stop_workers``, a cold shut-down) still ends the job at once
# (``InProcessWorker.kill_horse``); a job's time limit is RQ's ``SIGALRM`` in the worker's main thread.
# ``tests/integration/test_worker_class.py`` checks the stops and the scheduler takeover.
#
# What it does not keep: a job that crashes the interpreter takes the worker with it (the process manager
# starts it again), and a job's memory peak (a million-SKU plan, at most 250 MB, issue 12 §3) is the worker's
# from then on. CSV imports keep RQ's forking worker (the Procfile's ``importer``).

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


# ---- the reconcile (issue 10): reading Amazon's listings back ------------------------------------------

#: Its own queue, listed after ``sync`` by every worker, so a sweep never delays a sync waiting for a worker.
RECONCILE_QUEUE = "reconcile"
RECONCILE_JOB = "jobs.reconcile.reconcile_account"
#: A full sweep parses a million-row report in well under this; waits for Amazon are re-enqueued, not held.
RECONCILE_JOB_TIMEOUT = 3600


def reconcile_queue(connection: Redis) -> Queue:
    """Return the queue the reconcile jobs run on."""
    return Queue(RECONCILE_QUEUE, connection=connection)


def enqueue_reconcile(account_id: int, kind: str, *, connection: Redis, delay: float | None = None,
                      skus: list[str] | None = None, follow: bool = False) -> Job:
    """Enqueue a reconcile step of ``kind`` (full, incremental, targeted) for ``account_id``."""
    queue = reconcile_queue(connection)
    options: dict[str, Any] = {"job_timeout": RECONCILE_JOB_TIMEOUT, "result_ttl": 3600,
                               "failure_ttl": 7 * 86400,
                               "description": f"reconcile account {account_id} ({kind})"}
    if delay:
        return queue.enqueue_in(timedelta(seconds=delay), RECONCILE_JOB, account_id, kind, skus, follow,
                                **options)
    return queue.enqueue(RECONCILE_JOB, account_id, kind, skus, follow, **options)


def _next_key(account_id: int) -> str:
    return f"reconcile:next:{account_id}"


def request_full_sweep(account_id: int, connection: Redis) -> bool:
    """Enqueue a full read of the account's listings unless one is already on its way; return if enqueued."""
    if connection.exists(_next_key(account_id)):
        return False
    enqueue_reconcile(account_id, "full", connection=connection)
    return True


def schedule_reconcile_follow_up(account_id: int, kind: str, *, connection: Redis, delay: float,
                                 skus: list[str] | None = None) -> Job:
    """Enqueue the next step of a running sweep in ``delay`` seconds, and say so to the other enqueuers.

    While the key is set, the scheduler and the sync do not enqueue another reconcile of the account, so a
    report Amazon prepares for minutes is followed by one chain of jobs, not one more per cron tick.
    """
    connection.set(_next_key(account_id), kind, ex=int(delay) + 600)
    return enqueue_reconcile(account_id, kind, connection=connection, delay=delay, skus=skus, follow=True)


def follow_up_pending(account_id: int, connection: Redis, *, taking_over: bool) -> bool:
    """Return whether a follow-up of the account's sweep is on its way (clearing it when ``taking_over``)."""
    if taking_over:
        connection.delete(_next_key(account_id))
        return False
    return bool(connection.exists(_next_key(account_id)))


def _incremental_key(account_id: int) -> str:
    return f"reconcile:incremental:{account_id}"


def request_incremental_sweep(account_id: int, connection: Redis) -> bool:
    """Enqueue an incremental read of the account's listings after a sync's feeds were processed.

    Nothing is enqueued while one is already on its way: a follow-up of a running sweep, or an incremental
    read requested before and not started yet (:func:`incremental_started` clears that mark). Return whether
    a job was enqueued.
    """
    if connection.exists(_next_key(account_id)):
        return False
    if not connection.set(_incremental_key(account_id), "1", nx=True, ex=3600):
        return False
    enqueue_reconcile(account_id, "incremental", connection=connection)
    return True


def incremental_started(account_id: int, connection: Redis) -> None:
    """An incremental read starts: what changes on Amazon from now on needs another one."""
    connection.delete(_incremental_key(account_id))


def _lookup_slot_key(account_id: int) -> str:
    return f"reconcile:lookup-slot:{account_id}"


def _lookups_key(account_id: int) -> str:
    return f"reconcile:lookups:{account_id}"


def lookup_done(account_id: int, connection: Redis) -> bool:
    """Count one targeted look-up job done; return whether no other one enqueued by the sync is waiting.

    The look-ups of a feed are several jobs; the stored counts (a scan of the catalog) are recomputed once,
    after the last of them, not after each.
    """
    left = int(connection.decr(_lookups_key(account_id)))
    if left <= 0:
        connection.delete(_lookups_key(account_id))
        return True
    return False


def enqueue_lookups(account_id: int, skus: list[str], *, connection: Redis, chunk: int,
                    spacing: float) -> int:
    """Enqueue targeted look-ups of ``skus``, ``chunk`` SKUs a job, one job every ``spacing`` seconds.

    Spread out so that look-ups take a fraction of the seller's Listings budget, never all of it (a job of
    100 SKUs is 5 calls: one burst). The slots are kept per account in Redis, so the look-ups of several
    feeds processed at once queue up behind each other instead of bursting together. The caller bounds
    ``skus``. Return how many jobs.
    """
    chunk = max(1, chunk)
    key = _lookup_slot_key(account_id)
    now = time.time()
    slot = max(now, float(connection.get(key) or 0))
    jobs = 0
    for start in range(0, len(skus), chunk):
        delay = slot - now
        enqueue_reconcile(account_id, "targeted", connection=connection, skus=skus[start:start + chunk],
                          delay=delay if delay > 0.001 else None)
        slot += spacing
        jobs += 1
    connection.set(key, repr(slot), ex=int(slot - now) + 60)
    # Outlives the last job's slot by ten minutes: a look-up job lost with its worker frees the count.
    connection.incrby(_lookups_key(account_id), jobs)
    connection.expire(_lookups_key(account_id), int(slot - now) + 600)
    return jobs


def register_reconcile_cron(interval: int) -> None:
    """Register the interval job enqueueing each connected account's reconcile (from ``cron_config.py``)."""
    from jobs.reconcile import enqueue_all_reconciles

    rq_cron.register(enqueue_all_reconciles, RECONCILE_QUEUE, interval=interval, job_timeout=300,
                     result_ttl=3600, name="reconcile-all-accounts")


# ---- the connection health probe (issue 9 §3) ----------------------------------------------------------

#: Its own queue, listed last by every worker: a probe is two Sellers API calls and never delays a sync.
HEALTH_QUEUE = "health"
HEALTH_JOB = "jobs.health.check_connection"


def enqueue_health_check(account_id: int, *, connection: Redis) -> Job:
    """Enqueue a health check of ``account_id``'s connection."""
    return Queue(HEALTH_QUEUE, connection=connection).enqueue(
        HEALTH_JOB, account_id, job_timeout=900, result_ttl=3600, failure_ttl=86400,
        description=f"connection health of account {account_id}")


def register_health_cron(interval: int) -> None:
    """Register the interval job enqueueing each connection's health check (from ``cron_config.py``)."""
    from jobs.health import enqueue_all_health_checks

    rq_cron.register(enqueue_all_health_checks, HEALTH_QUEUE, interval=interval, job_timeout=300,
                     result_ttl=3600, name="connection-health")
