"""Every line a job logs names its account, its RQ job and its run (issue 12 §5), and no secret.

Real parts: RQ jobs worked in-process by ``SimpleWorker``, the sandbox over loopback HTTP, Redis and the
database. The lines are captured with the production filter and formatter (``wizard.logs.ContextFilter`` and
``JsonFormatter``) at DEBUG, so urllib3's and redis' lines count too. Which job wrote a line is known apart
from what the line says: the worker runs its jobs as :class:`MarkedJob`, which notes the job running.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import update
from sqlmodel import Session, col, select

from jobs.queue import (
    HEALTH_QUEUE,
    RECONCILE_QUEUE,
    SYNC_QUEUE,
    URGENT_QUEUE,
    enqueue_health_check,
    enqueue_reconcile,
    enqueue_sync,
    enqueue_urgent,
)
from tests.conftest import make_merchant
from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.worker import Seller, add_products, connect, last_run, run_sync, save_settings
from wizard.config import from_environment
from wizard.logs import ContextFilter, JsonFormatter
from wizard.models import Product
from wizard.models.reconcile import ReconcileSweep

#: The id of the job whose function runs now in this thread (None between jobs, and in other threads).
RUNNING: ContextVar[str | None] = ContextVar("running_job", default=None)


class MarkedJob(Job):
    """An RQ job that notes its id while its function runs."""

    def _execute(self) -> Any:
        token = RUNNING.set(self.id)
        try:
            return super()._execute()
        finally:
            RUNNING.reset(token)


class Capture(logging.Handler):
    """Keep every record with the context the production handler would write, and its JSON line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(ContextFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []
        #: Records written while a job's function ran, by the id of that job.
        self.jobs: dict[str, list[logging.LogRecord]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.records.append(record)
        running = RUNNING.get()
        if running is not None:
            self.jobs.setdefault(running, []).append(record)

    def job_records(self) -> list[logging.LogRecord]:
        return [record for records in self.jobs.values() for record in records]


def work(redis_url: str, *queues: str) -> None:
    """Work ``queues`` in this process until none has a job queued or scheduled (follow-ups run at once)."""
    redis = Redis.from_url(redis_url)
    try:
        for _ in range(500):
            SimpleWorker([Queue(name, connection=redis) for name in queues], connection=redis,
                         job_class=MarkedJob).work(burst=True)
            scheduled = 0
            for name in queues:
                registry = Queue(name, connection=redis).scheduled_job_registry
                for job_id in registry.get_job_ids():
                    job = Job.fetch(job_id, connection=redis)
                    registry.remove(job)
                    Queue(name, connection=redis).enqueue_job(job)
                    scheduled += 1
            if not scheduled:
                return
        raise AssertionError("the queues never became idle")
    finally:
        redis.close()


@pytest.fixture
def captured() -> Iterator[Capture]:
    root = logging.getLogger()
    handler, level = Capture(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def assert_named_by_their_job(captured: Capture) -> None:
    """Assert every line a job's function wrote carries that job's id."""
    for job_id, records in captured.jobs.items():
        unnamed = [(r.name, r.getMessage()[:120]) for r in records if getattr(r, "job_id", None) != job_id]
        assert not unnamed, f"lines of job {job_id} without its id: {unnamed}"


def assert_no_secret(lines: list[str], *secrets: str) -> None:
    config = from_environment()
    words = [*secrets, "Atzr|", "Atza|", str(config["AMAZON_LWA_CLIENT_SECRET"]),
             *str(config["TOKEN_ENCRYPTION_KEYS"]).split(",")]
    text = "\n".join(lines)
    for word in words:
        assert word and word not in text, f"a secret reached the logs: {word[:6]}…"


def test_every_line_of_two_sync_jobs_names_its_own_account_run_and_job(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, captured: Capture) -> None:
    other = make_merchant(db, name="Second Shop", domain="second.example")
    other_id = other.account.id or 0
    other_token = sandbox.grant("A2PROSELLERUS02")
    connect(db, other_id, other_token, seller_id="A2PROSELLERUS02")
    save_settings(db, other_id)
    add_products(db, seller.account_id, 30)
    add_products(db, other_id, 20)
    redis = Redis.from_url(redis_url)
    first = enqueue_sync(seller.account_id, "manual", connection=redis)
    second = enqueue_sync(other_id, "manual", connection=redis)

    work(redis_url, SYNC_QUEUE)  # one worker, one process: the second job runs right after the first

    runs = {seller.account_id: last_run(db, seller.account_id), other_id: last_run(db, other_id)}
    assert all(run.status == "done" for run in runs.values())
    assert set(captured.jobs) == {first.id, second.id}
    assert_named_by_their_job(captured)
    for job, account_id in ((first, seller.account_id), (second, other_id)):
        records = captured.jobs[job.id]
        assert {r.account_id for r in records} == {account_id}  # type: ignore[attr-defined]
        # From the moment the job has read its run, every line names it; before, only Redis was opened.
        named = next(i for i, r in enumerate(records) if getattr(r, "run_id", None) is not None)
        assert {r.run_id for r in records[named:]} == {runs[account_id].id}  # type: ignore[attr-defined]
        assert all(r.name.startswith("redis.") for r in records[:named]), records[:named]
        messages = [r.getMessage() for r in records]
        assert any(f"run {runs[account_id].id} planned" in m for m in messages), messages
        assert {r.name for r in records} >= {"wizard.sync.runner", "urllib3.connectionpool"}
        fed = [r for r in records if "sent as feed" in r.getMessage() or "processed:" in r.getMessage()]
        assert fed and all(getattr(r, "feed_id", None) for r in fed)
    assert_no_secret(captured.lines, other_token)


def test_every_line_of_a_reconcile_job_names_its_account_sweep_and_job(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, reconcile_env: dict[str, str],
        captured: Capture) -> None:
    add_products(db, seller.account_id, 10)
    sandbox.generate_listings(seller.seller_id, 10, prefix="AMAZON-ONLY-")
    job = enqueue_reconcile(seller.account_id, "full", connection=Redis.from_url(redis_url))

    work(redis_url, SYNC_QUEUE, RECONCILE_QUEUE)  # the sweep's steps, then the first sync it enqueues

    sweep = db.exec(select(ReconcileSweep).where(ReconcileSweep.account_id == seller.account_id,
                                                 ReconcileSweep.kind == "full")).one()
    assert_named_by_their_job(captured)
    records = captured.job_records()
    assert records and all(r.account_id == seller.account_id for r in records)  # type: ignore[attr-defined]
    # The sweep's steps are several jobs (the first asks for the report, the next ones poll and read it):
    # from the moment each has read its sweep, every line names it.
    steps = {job_id: lines for job_id, lines in captured.jobs.items()
             if any(getattr(r, "sweep_id", None) == sweep.id for r in lines)}
    assert job.id in steps
    for lines in steps.values():
        named = next(i for i, r in enumerate(lines) if getattr(r, "sweep_id", None) is not None)
        assert {r.sweep_id for r in lines[named:]} == {sweep.id}  # type: ignore[attr-defined]
    assert any(r.getMessage().endswith("full sweep done") for lines in steps.values() for r in lines)

    # A product added since: the next sync looks it up on Amazon first, a sweep of its own; that sweep's
    # id is on the look-up's lines and stays off the sync's later ones.
    add_products(db, seller.account_id, 3, start=100)
    sync = enqueue_sync(seller.account_id, "manual", connection=Redis.from_url(redis_url))
    work(redis_url, SYNC_QUEUE, RECONCILE_QUEUE)
    assert_named_by_their_job(captured)
    sync_lines = [r for r in captured.jobs[sync.id] if getattr(r, "run_id", None) is not None]
    lookup_ids = {getattr(r, "sweep_id", None) for r in sync_lines} - {None}
    assert len(lookup_ids) == 1 and sweep.id not in lookup_ids
    planned = [r for r in sync_lines if " planned: " in r.getMessage()]
    assert planned and all(getattr(r, "sweep_id", None) is None for r in planned)
    assert_no_secret(captured.lines)


def test_every_line_of_an_urgent_and_a_health_job_names_its_account_and_job(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, captured: Capture) -> None:
    add_products(db, seller.account_id, 5, available=lambda i: 10, price_cents=lambda i: 2000)
    run_sync(redis_url, seller.account_id)
    db.execute(update(Product).where(col(Product.account_id) == seller.account_id,
                                     col(Product.sku) == "SKU-0000000").values(available=0))
    db.commit()
    redis = Redis.from_url(redis_url)
    captured.jobs.clear()
    enqueue_urgent(seller.account_id, connection=redis)
    health = enqueue_health_check(seller.account_id, connection=redis)

    work(redis_url, URGENT_QUEUE, HEALTH_QUEUE)

    assert sandbox.listings(seller.seller_id)["SKU-0000000"]["quantity"] == 0
    assert_named_by_their_job(captured)
    jobs = captured.jobs
    assert health.id in jobs and len(jobs) == 2
    for records in jobs.values():
        assert {r.account_id for r in records} == {seller.account_id}  # type: ignore[attr-defined]
    messages = [r.getMessage() for r in jobs[health.id]]
    assert any("connection health of account" in m for m in messages), messages
    urgent = next(records for job_id, records in jobs.items() if job_id != health.id)
    assert any("urgent lane sent 1" in r.getMessage() for r in urgent)
    assert_no_secret(captured.lines)


def test_a_job_called_outside_rq_still_names_its_account(
        seller: Seller, sandbox: SandboxControl, captured: Capture) -> None:
    # The convergence test calls a job function directly: no RQ job, so no job id, but the account.
    from jobs.health import check_connection

    assert check_connection(seller.account_id) == "verified"
    mine = [r for r in captured.records if r.name.startswith(("jobs.", "wizard."))]
    assert mine and all(r.account_id == seller.account_id and r.job_id is None  # type: ignore[attr-defined]
                        for r in mine)

