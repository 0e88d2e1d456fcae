"""Operations endpoints: ``/healthz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from sqlmodel import Session

from jobs.queue import enqueue_sync
from tests.conftest import Merchant
from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.services import free_port, wait_until
from tests.fixtures.worker import REPO_ROOT, Seller, add_products, last_run, run_sync
from wizard import create_app
from wizard.amazon.client import AmazonClient, SellerAuth
from wizard.amazon.errors import AmazonUnavailable, Throttled
from wizard.config import from_environment
from wizard.models.base import utcnow
from wizard.models.sync import (
    BatchStatus,
    FeedBatch,
    ListingState,
    ListingStatus,
    RunStatus,
    SyncRun,
    SyncTrigger,
)
from wizard.ops.metrics import count_event


class SilentServer:
    """A TCP server that accepts connections and never says anything (a hung database or Redis)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def still_waiting(self) -> bool:
        """Return whether a client connected and is still waiting for an answer (has not hung up)."""
        for connection in self.accepted:
            connection.setblocking(False)
            try:
                while connection.recv(4096):
                    pass  # what the client sent (a startup packet); read on until it would block or ends
            except BlockingIOError:
                return True  # open and silent: the client is still waiting for us
        return False

    def close(self) -> None:
        for connection in self.accepted:
            connection.close()
        self.sock.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def _app(app_config: dict[str, Any], **overrides: Any) -> Flask:
    return create_app({**app_config, **overrides})


def test_healthz_answers_ok_without_signing_in_when_the_database_and_redis_answer(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_healthz_answers_503_without_details_when_redis_is_down(app_config: dict[str, Any]) -> None:
    app = _app(app_config, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "unavailable\n"


def test_healthz_answers_503_when_the_database_is_down(app_config: dict[str, Any]) -> None:
    app = _app(app_config, DATABASE_URL=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/ecommerce")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "unavailable\n"


def test_healthz_does_not_wait_for_a_database_that_hangs(app_config: dict[str, Any],
                                                          silent_server: SilentServer) -> None:
    # The database accepts the connection and never answers: the driver would wait its whole connect
    # time-out (10 s). The health check answers 503 while that connection is still waiting.
    app = _app(app_config, DATABASE_URL=f"postgresql+psycopg://nobody@127.0.0.1:{silent_server.port}/x")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    wait_until(lambda: silent_server.accepted, message="the health check to reach the hung database")
    assert silent_server.still_waiting()


METRICS_TOKEN = "metrics-token-for-tests"


@pytest.fixture
def metrics_app(app_config: dict[str, Any]) -> Flask:
    return _app(app_config, METRICS_TOKEN=METRICS_TOKEN)


def _scrape(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}x", "Bearer "])
def test_metrics_refuse_a_scraper_without_the_metrics_token(metrics_app: Flask, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = metrics_app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert "ecommerce_" not in response.get_data(as_text=True)


def test_metrics_are_closed_to_everyone_when_no_token_is_configured(app: Flask) -> None:
    response = app.test_client().get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 401


def test_metrics_report_syncs_feeds_rejections_the_queue_and_amazon_events(
        metrics_app: Flask, merchant: Merchant, db: Session, redis_url: str) -> None:
    account_id = merchant.account.id or 0
    now = utcnow()
    done = SyncRun(account_id=account_id, trigger=SyncTrigger.CRON, status=RunStatus.DONE)
    failed = SyncRun(account_id=account_id, trigger=SyncTrigger.MANUAL, status=RunStatus.FAILED)
    db.add_all([done, failed])
    db.flush()
    db.add_all([
        FeedBatch(run_id=done.id or 0, account_id=account_id, seq=1, status=BatchStatus.DONE, message_count=1,
                  content_sha256="a" * 64, size_bytes=1, submitted_at=now - timedelta(seconds=200),
                  processed_at=now),
        FeedBatch(run_id=done.id or 0, account_id=account_id, seq=2, status=BatchStatus.DONE, message_count=1,
                  content_sha256="b" * 64, size_bytes=1, submitted_at=now - timedelta(hours=2),
                  processed_at=now),
        ListingState(account_id=account_id, sku="REJECTED-1", status=ListingStatus.REJECTED),
        ListingState(account_id=account_id, sku="ACCEPTED-1", status=ListingStatus.ACCEPTED),
    ])
    db.commit()
    redis = Redis.from_url(redis_url)
    enqueue_sync(account_id, "cron", connection=redis)
    enqueue_sync(account_id, "change", connection=redis, delay=60)
    count_event(redis, "amazon_throttled")
    count_event(redis, "amazon_throttled")
    count_event(redis, "token_refresh_failures")

    samples = _scrape(metrics_app)

    assert samples[("ecommerce_sync_runs", (("status", "done"),))] == 1
    assert samples[("ecommerce_sync_runs", (("status", "failed"),))] == 1
    assert samples[("ecommerce_sync_runs", (("status", "processing"),))] == 0
    assert samples[("ecommerce_sync_queue_depth", ())] == 2
    assert samples[("ecommerce_rejected_skus", ())] == 1
    assert samples[("ecommerce_amazon_throttled_total", ())] == 2
    assert samples[("ecommerce_token_refresh_failures_total", ())] == 1
    assert samples[("ecommerce_feed_latency_seconds_bucket", (("le", "300.0"),))] == 1
    assert samples[("ecommerce_feed_latency_seconds_bucket", (("le", "7200.0"),))] == 2
    assert samples[("ecommerce_feed_latency_seconds_count", ())] == 2


def _work_sync_queue_in_a_worker_process(env: dict[str, str]) -> None:
    """Work the sync queue with a real ``rq worker --burst`` process (another process than the web's)."""
    rq = str(Path(sys.executable).with_name("rq"))
    result = subprocess.run([rq, "worker", "--burst", "--url", env["REDIS_URL"], "sync"], cwd=REPO_ROOT,
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_429_amazon_answers_a_worker_process_shows_in_the_web_apps_metrics(
        metrics_app: Flask, db: Session, seller: Seller, sandbox: SandboxControl, sync_env: dict[str, str],
        redis_url: str) -> None:
    add_products(db, seller.account_id, 5)
    # Amazon throttles the run's first createFeedDocument; the client waits and tries again.
    sandbox.fault("createFeedDocument", fail_next=1, status=429)
    enqueue_sync(seller.account_id, "manual", connection=Redis.from_url(redis_url))

    _work_sync_queue_in_a_worker_process(sync_env)

    assert last_run(db, seller.account_id).status == RunStatus.DONE
    assert sandbox.stats()["failures_injected"] == 1
    samples = _scrape(metrics_app)
    assert samples[("ecommerce_amazon_throttled_total", ())] == 1
    assert samples[("ecommerce_token_refresh_failures_total", ())] == 0


def test_every_429_is_counted_even_when_the_retries_run_out(
        metrics_app: Flask, seller: Seller, sandbox: SandboxControl, app_config: dict[str, Any],
        redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    config = {**from_environment(), **app_config, "AMAZON_RETRY_ATTEMPTS": 3, "AMAZON_RETRY_BASE_DELAY": 0.01}
    client = AmazonClient.from_config(config, redis)
    auth = SellerAuth(seller.seller_id, sandbox.grant(seller.seller_id))
    sandbox.fault("getAccount", throttle=True)

    with pytest.raises(Throttled):
        client.get_account(auth)

    assert sandbox.stats()["throttled"] == {"getAccount": 3}
    assert _scrape(metrics_app)[("ecommerce_amazon_throttled_total", ())] == 3


def test_a_refresh_amazon_refuses_with_invalid_grant_is_counted_once(
        metrics_app: Flask, db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str) -> None:
    add_products(db, seller.account_id, 5)
    sandbox.revoke(seller.seller_id)  # Login with Amazon now answers the refresh with invalid_grant

    run_sync(redis_url, seller.account_id)

    run = last_run(db, seller.account_id)
    assert run.status == RunStatus.STOPPED and run.error_code == "invalid_grant"
    assert sandbox.stats()["calls"]["lwa"] == 1
    samples = _scrape(metrics_app)
    assert samples[("ecommerce_token_refresh_failures_total", ())] == 1
    assert samples[("ecommerce_amazon_throttled_total", ())] == 0


def test_a_refresh_that_outlasts_lwa_server_errors_is_counted_once(
        metrics_app: Flask, seller: Seller, sandbox: SandboxControl, app_config: dict[str, Any],
        redis_url: str) -> None:
    config = {**from_environment(), **app_config, "AMAZON_RETRY_ATTEMPTS": 2, "AMAZON_RETRY_BASE_DELAY": 0.01}
    client = AmazonClient.from_config(config, Redis.from_url(redis_url))
    refresh_token = sandbox.grant(seller.seller_id)
    sandbox.fault("lwa", fail_next=2)

    with pytest.raises(AmazonUnavailable):
        client.refresh(refresh_token)
    client.refresh(refresh_token)  # LWA answers again: a success is not a failure

    assert _scrape(metrics_app)[("ecommerce_token_refresh_failures_total", ())] == 1
