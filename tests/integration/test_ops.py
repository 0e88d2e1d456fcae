"""Operations endpoints: ``/healthz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.fixtures.services import free_port, wait_until
from wizard import create_app


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
