"""The one way Redis is opened (web app, workers, cron, scripts): ``open_redis(REDIS_URL)``.

``REDIS_URL`` may be ``redis://``, ``rediss://`` (TLS, certificates verified) or ``unix://``, with a user and
a password (``rediss://:password@host:6380/0``). Production Redis must not be reachable by anyone else: RQ
unpickles job data, so whoever can write to it can run code in the workers (see the README).
"""

from __future__ import annotations

from redis import Redis

#: Seconds between pings on an idle pooled connection, so a connection a proxy dropped is noticed before use.
HEALTH_CHECK_INTERVAL = 30


def open_redis(url: str, *, timeout: float | None = None) -> Redis:
    """Return a client for ``url`` with bytes responses (as RQ and the token cache expect).

    Nothing connects until the first command. TLS (``rediss://``) verifies the server's certificate unless
    the URL says otherwise (``?ssl_cert_reqs=none``, for a development TLS proxy only). ``timeout`` bounds
    connecting and each command (the health check); None waits as long as a job needs.
    """
    return Redis.from_url(url, health_check_interval=HEALTH_CHECK_INTERVAL, socket_keepalive=True,
                          socket_timeout=timeout, socket_connect_timeout=timeout)


__all__ = ["open_redis"]
