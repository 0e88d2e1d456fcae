"""The Procfile's workers run jobs in their own process (``InProcessWorker``), and can still be stopped now.

A fork per job threw away the database pool, the compiled statements and every connection with each job
(issue 12 §4: ``bench/profile_sync_job.py --worker-class`` measured a small merchant's no-change sync at
416 ms a job forking, 276 ms not). SIGKILL safety is tested with this class by
``test_concurrent_workers.py``; here, what changes with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler

from jobs.queue import MAINTENANCE_INTERVAL, stop_workers
from tests.fixtures.services import wait_until
from tests.fixtures.worker import kill_worker, start_worker

QUEUE = "worker-class-test"


def _finished(jobs: list[Job]) -> bool:
    return all(job.get_status(refresh=True) == JobStatus.FINISHED for job in jobs)


def test_a_worker_runs_its_jobs_in_its_own_process_without_a_fork_per_job(
        redis_url: str, worker_processes: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    redis = Redis.from_url(redis_url)
    jobs = [Queue(QUEUE, connection=redis).enqueue(os.getpid) for _ in range(3)]
    worker = start_worker({"REDIS_URL": redis_url}, log=tmp_path / "worker.log", queues=(QUEUE,))
    worker_processes.append(worker)

    wait_until(lambda: _finished(jobs), timeout=60, message="the jobs to finish")

    assert [job.return_value() for job in jobs] == [worker.pid] * 3


def _worker_in_a_long_job(redis: Redis, redis_url: str, worker_processes: list[subprocess.Popen[bytes]],
                          tmp_path: Path) -> tuple[Job, subprocess.Popen[bytes]]:
    """Start a worker and wait until it runs a job far longer than a test waits.

    Only a stop that ends the job lets such a worker exit in time.
    """
    long_job = Queue(QUEUE, connection=redis).enqueue("time.sleep", 3600, job_timeout=7200)
    worker = start_worker({"REDIS_URL": redis_url}, log=tmp_path / "worker.log", queues=(QUEUE,))
    worker_processes.append(worker)
    wait_until(lambda: long_job.get_status(refresh=True) == JobStatus.STARTED, timeout=60,
               message="the long job to start")
    return long_job, worker


def test_stop_workers_ends_a_worker_in_the_middle_of_its_job_at_once(
        redis_url: str, worker_processes: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    redis = Redis.from_url(redis_url)
    long_job, worker = _worker_in_a_long_job(redis, redis_url, worker_processes, tmp_path)

    names: list[Any] = stop_workers(redis)

    assert len(names) == 1
    wait_until(lambda: worker.poll() is not None, timeout=60, message="the worker to exit")
    assert long_job.get_status(refresh=True) != JobStatus.FINISHED


def test_a_second_stop_signal_ends_a_worker_in_the_middle_of_its_job(
        redis_url: str, worker_processes: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    redis = Redis.from_url(redis_url)
    long_job, worker = _worker_in_a_long_job(redis, redis_url, worker_processes, tmp_path)

    def stopped_after_another_signal() -> bool:
        # The first SIGTERM is a warm shut-down (wait for the job); the next is a cold one. RQ ignores one
        # within a second of the first (a worker pool's duplicate), so send it, as a process manager does,
        # until the worker is gone.
        if worker.poll() is not None:
            return True
        worker.send_signal(signal.SIGTERM)
        return False

    wait_until(stopped_after_another_signal, timeout=60, interval=0.25, message="the worker to exit")
    # It ended the job by ending itself (``InProcessWorker.kill_horse``), as a crash would.
    assert worker.returncode == -signal.SIGKILL
    assert long_job.get_status(refresh=True) != JobStatus.FINISHED


def _scheduler_running(redis: Redis) -> bool:
    """Tell whether a worker's scheduler process has started (it registers itself once forked)."""
    return any(True for _ in redis.scan_iter(SCHEDULER_KEY_TEMPLATE % "*"))


def _idle(redis: Redis, pid: int) -> bool:
    return any(w.pid == pid and w.get_state() == "idle" for w in Worker.all(connection=redis))


def test_an_idle_worker_takes_over_the_scheduler_of_a_worker_that_was_killed(
        redis_url: str, worker_processes: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    """Delayed jobs (a follow-up poll, a change's run) still run when the worker that scheduled them died.

    RQ's worker looks for an orphaned scheduler in its maintenance, every 600 s and, when idle, only after its
    405-s wait for a job: a SIGKILLed worker's replacement left every delayed job waiting ten minutes.
    """
    redis = Redis.from_url(redis_url)
    lock = RQScheduler.get_locking_key(QUEUE)
    first = start_worker({"REDIS_URL": redis_url}, log=tmp_path / "worker-1.log", queues=(QUEUE,))
    worker_processes.append(first)
    # Its scheduler runs in a process it forks: killed before that, the fork would outlive it.
    wait_until(lambda: redis.get(lock) is not None and _scheduler_running(redis), timeout=60,
               message="the first worker's scheduler")
    kill_worker(first)
    replacement = start_worker({"REDIS_URL": redis_url}, log=tmp_path / "worker-2.log", queues=(QUEUE,))
    worker_processes.append(replacement)
    # Started while the dead worker's lock still held, it has no scheduler and is waiting for a job.
    wait_until(lambda: _idle(redis, replacement.pid), timeout=60, message="the replacement to wait for a job")
    assert redis.get(lock) is not None
    # The dead worker's lock expires (RQ: a minute after its last refresh); end it now rather than wait.
    redis.delete(lock)

    delayed = Queue(QUEUE, connection=redis).enqueue_in(timedelta(seconds=1), os.getpid)

    wait_until(lambda: delayed.get_status(refresh=True) == JobStatus.FINISHED,
               timeout=2 * MAINTENANCE_INTERVAL + 30, message="the delayed job to run")
    assert delayed.return_value() == replacement.pid
