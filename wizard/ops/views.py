"""``/healthz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST
from redis import Redis

from wizard.db import get_session
from wizard.ops.health import DEADLINE, database_reachable, healthy, redis_reachable
from wizard.ops.metrics import render
from wizard.redis_connection import open_redis
from wizard.security import api_token, public
from wizard.services import get_redis
from wizard.tasks import sync_queue_depth

bp = Blueprint("ops", __name__)


def _health_redis() -> Redis:
    # Its own connection with short time-outs: the app's shared one waits as long as a job needs.
    ext = current_app.extensions
    if "health_redis" not in ext:
        ext["health_redis"] = open_redis(current_app.config["REDIS_URL"], timeout=DEADLINE)
    redis: Redis = ext["health_redis"]
    return redis


@bp.get("/healthz")
@public
def healthz() -> Response:
    """Answer 200 when the database and Redis are reachable, 503 otherwise; no details either way."""
    url = current_app.config["DATABASE_URL"]
    redis = _health_redis()
    ok = healthy([lambda: database_reachable(url), lambda: redis_reachable(redis)])
    response = Response("ok\n" if ok else "unavailable\n", status=200 if ok else 503, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def _metrics_token_given() -> bool:
    expected = str(current_app.config.get("METRICS_TOKEN") or "")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    # No token configured: nobody may read the metrics.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@bp.get("/metrics")
@api_token
def metrics() -> Response:
    """Serve the Prometheus metrics to a scraper that sends ``Authorization: Bearer $METRICS_TOKEN``."""
    if not _metrics_token_given():
        return Response("Send the metrics token: Authorization: Bearer <METRICS_TOKEN>\n", status=401,
                        mimetype="text/plain", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    redis = get_redis()
    depth = sync_queue_depth(redis)
    response = Response(render(get_session(), redis, depth), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
