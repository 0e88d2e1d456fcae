"""``/healthz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from redis import Redis

from wizard.ops.health import DEADLINE, database_reachable, healthy, redis_reachable
from wizard.security import public

bp = Blueprint("ops", __name__)


def _health_redis() -> Redis:
    # Its own connection with short time-outs: the app's shared one waits as long as a job needs.
    ext = current_app.extensions
    if "health_redis" not in ext:
        ext["health_redis"] = Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=DEADLINE,
                                             socket_connect_timeout=DEADLINE)
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
