"""``REDIS_URL`` may name a TLS Redis (``rediss://``) with a password, and every part uses it: the web's "Sync
now", the worker's job (lock, token cache, rate buckets) and the queue (issue 8, item 14).

A real redis-server runs with ``requirepass`` and TLS only, with a certificate made for the test.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.fixtures.queues import run_worker_burst
from tests.fixtures.services import free_port, redis_server_binary, wait_until
from tests.fixtures.worker import Seller, add_products, last_run
from tests.helpers import csrf_token
from wizard import create_app
from wizard.models.sync import RunStatus
from wizard.redis_connection import open_redis

PASSWORD = "s3cret-for-tests"  # noqa: S105 - a test-only password


def _certificate(workdir: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = workdir / "redis.crt", workdir / "redis.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_redis_url(tmp_path: Path) -> Iterator[str]:
    """Start a redis-server that speaks TLS only and wants a password; yield its ``rediss://`` URL."""
    cert, key = _certificate(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [redis_server_binary(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
         "--tls-auth-clients", "no", "--requirepass", PASSWORD, "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={cert}"

    def _up() -> bool:
        try:
            return bool(open_redis(url).ping())
        except RedisConnectionError:
            return False

    try:
        wait_until(_up, message="the TLS redis-server to start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_tls_redis_with_a_password_is_reached_and_a_wrong_password_is_refused(tls_redis_url: str) -> None:
    assert open_redis(tls_redis_url).ping()
    with pytest.raises(AuthenticationError):
        open_redis(tls_redis_url.replace(PASSWORD, "wrong")).ping()
    plain = tls_redis_url.replace("rediss://", "redis://").split("?", 1)[0]
    with pytest.raises(RedisConnectionError):  # no plain-text port at all
        open_redis(plain).ping()


def test_sync_now_and_the_worker_run_through_a_tls_redis_with_a_password(
        app_config: dict[str, Any], seller: Seller, db, merchant, tls_redis_url: str,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import sign_in

    monkeypatch.setenv("REDIS_URL", tls_redis_url)  # what the worker's job reads
    add_products(db, seller.account_id, 8)
    app = create_app({**app_config, "REDIS_URL": tls_redis_url})
    client = app.test_client()
    sign_in(client, merchant.user("admin"))

    response = client.post("/sync/now", data={"csrf_token": csrf_token(client, "/sync/")})

    assert response.status_code == 302
    redis = open_redis(tls_redis_url)
    assert redis.llen("rq:queue:sync") == 1
    run_worker_burst(redis)
    run = last_run(db, seller.account_id)
    assert run.status == RunStatus.DONE and run.accepted_count == 8
    # The job's lock, token cache and rate buckets lived in the TLS Redis too.
    assert any(key.startswith(b"amazon:rate:") for key in redis.keys("*"))
