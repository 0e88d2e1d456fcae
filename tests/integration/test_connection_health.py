"""Issue 9 §3: the health probe notices a revoked or unusable connection without waiting for a sync.

Everything is real: the sandbox over HTTP (its admin revokes the grant), Redis, the database, and the probe
jobs worked by an RQ worker from the health queue, as the ``rq cron`` job enqueues them.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlmodel import Session

from jobs.health import enqueue_all_health_checks
from jobs.queue import sync_queue
from tests.conftest import Merchant, sign_in
from tests.fixtures.queues import run_health_burst
from tests.fixtures.sandbox import SandboxControl
from tests.helpers import csrf_token
from tests.integration.connect_support import (
    INDIVIDUAL_SELLER,
    PREFIX,
    PRO_SELLER,
    VERIFY,
    AmazonSide,
    authorize,
    connection_of,
)
from wizard.models import ConnectionStatus, User

CHECK = PREFIX + "/check"


def connect_verified(client: FlaskClient, amazon: AmazonSide, seller: str = PRO_SELLER) -> None:
    """Arrange: Grant Access, then the seller check of step 3."""
    authorize(client, amazon, seller=seller)
    token = csrf_token(client, VERIFY)
    client.post(VERIFY, data={"csrf_token": token}, headers={"HX-Request": "true"})


def run_probe(redis_url: str) -> int:
    """Do what ``rq cron`` does every ``HEALTH_INTERVAL``, then let a worker run the enqueued checks."""
    enqueued = enqueue_all_health_checks()
    run_health_burst(Redis.from_url(redis_url))
    return enqueued


def test_a_grant_revoked_in_seller_central_shows_on_the_page_after_the_probe(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session,
        sandbox: SandboxControl, sync_env: dict[str, str], redis_url: str
) -> None:
    connect_verified(client, amazon)
    page = client.get(PREFIX + "/").get_data(as_text=True)
    assert "Needs re-authorization" not in page and "Not checked yet" in page
    sandbox.revoke(PRO_SELLER)
    assert run_probe(redis_url) == 1
    connection = connection_of(db, merchant.account)
    assert connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION
    assert connection.health_checked_at is not None and connection.last_error_code == "invalid_grant"
    page = client.get(PREFIX + "/").get_data(as_text=True)
    assert "Needs re-authorization" in page and "Amazon no longer accepts" in page
    assert "Checked less than a minute ago" in page


def test_the_probe_leaves_a_working_connection_connected(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session,
        sync_env: dict[str, str], redis_url: str
) -> None:
    connect_verified(client, amazon)
    assert run_probe(redis_url) == 1
    connection = connection_of(db, merchant.account)
    assert connection.status == ConnectionStatus.CONNECTED and connection.verified_at is not None
    assert connection.health_checked_at is not None


def test_an_individual_plan_seller_is_an_error_with_the_reason(
        app: Flask, client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session,
        sync_env: dict[str, str], redis_url: str
) -> None:
    connect_verified(client, amazon, seller=INDIVIDUAL_SELLER)
    assert run_probe(redis_url) == 1
    connection = connection_of(db, merchant.account)
    assert connection.status == ConnectionStatus.ERROR
    assert connection.last_error_code == "individual_plan"
    assert "Individual selling plan" in (connection.last_error_message or "")
    staff = app.test_client()
    sign_in(staff, merchant.user("staff"))
    page = staff.get(PREFIX + "/").get_data(as_text=True)
    assert '<span class="status status-error">Error</span>' in page
    assert "You need a Professional selling plan (not Individual) to use the integration." in page


def test_check_now_asks_amazon_at_once_and_is_for_managers_only(
        app: Flask, client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session,
        sandbox: SandboxControl
) -> None:
    connect_verified(client, amazon)
    token = csrf_token(client, PREFIX + "/")
    assert client.post(CHECK, data={}).status_code == 400  # no CSRF token
    answer = client.post(CHECK, data={"csrf_token": token})
    assert answer.headers["Location"].endswith(PREFIX + "/")
    page = client.get(PREFIX + "/").get_data(as_text=True)
    assert "Checked just now: Amazon accepts the connection." in page
    assert "Checked less than a minute ago" in page and "Check now" in page
    sandbox.revoke(PRO_SELLER)
    staff = app.test_client()
    sign_in(staff, merchant.user("staff"))
    assert "Check now" not in staff.get(PREFIX + "/").get_data(as_text=True)
    assert staff.post(CHECK, data={"csrf_token": csrf_token(staff, PREFIX + "/")}).status_code == 403
    assert connection_of(db, merchant.account).status == ConnectionStatus.CONNECTED
    client.post(CHECK, data={"csrf_token": token})
    assert connection_of(db, merchant.account).status == ConnectionStatus.NEEDS_REAUTHORIZATION
    assert "Needs re-authorization" in client.get(PREFIX + "/").get_data(as_text=True)


def test_reauthorizing_enqueues_a_catch_up_sync_at_once(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session,
        sandbox: SandboxControl, sync_env: dict[str, str], redis_url: str
) -> None:
    connect_verified(client, amazon)
    sandbox.revoke(PRO_SELLER)
    run_probe(redis_url)
    assert connection_of(db, merchant.account).status == ConnectionStatus.NEEDS_REAUTHORIZATION
    queue = sync_queue(Redis.from_url(redis_url))
    before = list(queue.get_jobs())
    sandbox.restore(PRO_SELLER)
    authorize(client, amazon)
    assert connection_of(db, merchant.account).status == ConnectionStatus.CONNECTED
    added = [job for job in queue.get_jobs() if job not in before]
    assert [(job.func_name, job.args) for job in added] == [
        ("jobs.sync.sync_account", (merchant.account.id, "change"))]
