"""Attack family: secrets in logs (issue 8, item 12).

The OAuth callback carries ``spapi_oauth_code`` and ``state`` in its query string, and the Login URI carries
``amazon_state``. gunicorn's default access log writes the whole request line, so anyone who reads the logs
could replay them. The web process (run here exactly as the Procfile runs it) logs paths only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.services import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRETS = {
    "/amazon/oauth/callback": "spapi_oauth_code=RHVmSecretCode0001&state=SecretState0002"
                              "&selling_partner_id=A1PROSELLERUS01",
    "/amazon/login": "amazon_callback_uri=https%3A%2F%2Fsellercentral.amazon.com%2Fapps%2Fauthorize%2Fconfirm"
                     "&amazon_state=SecretAmazonState0003&selling_partner_id=A1PROSELLERUS01",
    "/sign-in": "next=%2Fcatalog%3Fq%3DSecretSearch0004",
}
SECRET_WORDS = ["RHVmSecretCode0001", "SecretState0002", "SecretAmazonState0003", "SecretSearch0004"]


def web_command() -> str:
    lines = (REPO_ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())["web"]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def gunicorn(database_url: str, redis_url: str, tmp_path: Path
             ) -> Iterator[tuple[str, Callable[[], str]]]:
    """Run the Procfile's web process on a free port; yield its URL and a function that stops it and
    returns what it wrote."""
    port = free_port()
    log = tmp_path / "web.log"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "WEB_PORT": str(port),
           "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with log.open("wb") as handle:
        process = subprocess.Popen(["sh", "-c", web_command()], cwd=REPO_ROOT, env=env, stdout=handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def stop() -> str:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        return log.read_text()

    try:
        deadline = time.monotonic() + 60
        while True:  # wait for the server to answer (gunicorn exits if the app cannot start)
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            try:
                get(url + "/sign-in")
                break
            except OSError:
                time.sleep(0.05)
        yield url, stop
    finally:
        stop()


def test_the_access_log_leaves_out_query_strings(gunicorn: tuple[str, Callable[[], str]]) -> None:
    url, stop = gunicorn
    for path, query in SECRETS.items():
        get(f"{url}{path}?{query}")
    text = stop()  # gunicorn writes each line after its response: stop it before reading
    for path in SECRETS:
        assert f'"GET {path} HTTP/1.1"' in text, text  # the request is logged, by its path
    for word in SECRET_WORDS:
        assert word not in text, f"{word} was written to the access log:\n{text}"
