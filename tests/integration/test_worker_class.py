"""The Procfile's workers run jobs in their own process (``jobs/worker.py``), and can still be stopped now.

A fork per job threw away the database pool, the compiled statements and every connection with each job
(issue 12 §4: ``bench/profile_sync_job.py --worker-class`` measured a small merchant's no-change sync at
416 ms a job forking, 276 ms not). SIGKILL safety is tested with this class by
``test_concurrent_workers.py``; here, what changes with it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus

from jobs.queue import stop_workers
from tests.fixtures.services import wait_until
from tests.fixtures.worker import start_worker

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


def test_stop_workers_ends_a_worker_in_the_middle_of_its_job_at_once(
        redis_url: str, worker_processes: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    redis = Redis.from_url(redis_url)
    # A job far longer than this test waits: only a stop that ends the job lets the worker exit in time.
    long_job = Queue(QUEUE, connection=redis).enqueue("time.sleep", 3600, job_timeout=7200)
    worker = start_worker({"REDIS_URL": redis_url}, log=tmp_path / "worker.log", queues=(QUEUE,))
    worker_processes.append(worker)
    wait_until(lambda: long_job.get_status(refresh=True) == JobStatus.STARTED, timeout=60,
               message="the long job to start")

    names: list[Any] = stop_workers(redis)

    assert len(names) == 1
    wait_until(lambda: worker.poll() is not None, timeout=60, message="the worker to exit")
    assert long_job.get_status(refresh=True) != JobStatus.FINISHED
