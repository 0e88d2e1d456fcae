"""Attack family: a deployment that runs with the public development secrets (issue 8, item 7).

With the development ``SECRET_KEY`` anyone can sign a session cookie for any user. Only
``APP_ENV=development`` or ``test`` may use the development secrets; an unset ``APP_ENV`` counts as
production, an unknown value is refused, and production needs a ``SECRET_KEY`` of at least 32 bytes. The web
app, the worker (at start and in every job) and the cron process all refuse.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from redis import Redis
from rq.job import Job

from jobs.queue import enqueue_sync
from tests.conftest import Merchant
from wizard import create_app
from wizard.config import DEV_SECRET_KEY, ConfigurationError, check_production_safety, from_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

REAL_SECRETS = {
    "SECRET_KEY": "k" * 48,
    "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "AMAZON_LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.a-real-one",
    "SESSION_COOKIE_SECURE": "1",
}
UNKNOWN_ENVS = ["prod", "Production", "PRODUCTION", " production", "production ", "staging", "dev",
                "Development", "testing", "live"]


def procfile() -> dict[str, str]:
    lines = (REPO_ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def process_env(**values: str) -> dict[str, str]:
    """Return the test process's environment without APP_ENV, plus ``values``."""
    env = {key: value for key, value in os.environ.items() if key != "APP_ENV"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(values)
    return env


@pytest.mark.parametrize("app_env", UNKNOWN_ENVS)
def test_an_unknown_app_env_is_refused_even_with_real_secrets(app_env: str) -> None:
    with pytest.raises(ConfigurationError, match="is not one of development, test, production"):
        from_environment({**REAL_SECRETS, "APP_ENV": app_env})


@pytest.mark.parametrize("app_env", ["", *UNKNOWN_ENVS])
def test_the_development_secret_key_is_refused_unless_app_env_says_development(app_env: str) -> None:
    config = {**from_environment({**REAL_SECRETS}, check=False), "APP_ENV": app_env,
              "SECRET_KEY": DEV_SECRET_KEY, "SESSION_COOKIE_SECURE": True}
    with pytest.raises(ConfigurationError):
        create_app(config)


def test_with_app_env_unset_the_app_does_not_start_with_the_public_key(database_url: str) -> None:
    # The attack it stops: a session cookie for another account's admin, signed with the public key.
    with pytest.raises(ConfigurationError, match="APP_ENV unset"):
        create_app({"APP_ENV": "", "DATABASE_URL": database_url})


@pytest.mark.parametrize("key", ["short", "k" * 31, "é" * 15])
def test_production_refuses_a_secret_key_under_32_bytes(key: str) -> None:
    config = {**from_environment(REAL_SECRETS, check=False), "APP_ENV": "production", "SECRET_KEY": key,
              "SESSION_COOKIE_SECURE": True}
    with pytest.raises(ConfigurationError, match="SECRET_KEY under 32 bytes"):
        check_production_safety(config)


@pytest.mark.parametrize("key", ["k" * 32, "é" * 16])
def test_production_accepts_a_secret_key_of_32_bytes(key: str) -> None:
    check_production_safety({**from_environment(REAL_SECRETS, check=False), "APP_ENV": "production",
                             "SECRET_KEY": key, "SESSION_COOKIE_SECURE": True})


@pytest.mark.parametrize("app_env", ["development", "test"])
def test_development_and_test_may_use_the_development_secrets(app_env: str) -> None:
    assert from_environment({"APP_ENV": app_env})["SECRET_KEY"] == DEV_SECRET_KEY


@pytest.mark.parametrize("app_env", ["", "prod"])
def test_the_worker_refuses_to_start(app_env: str, redis_url: str) -> None:
    result = subprocess.run(["sh", "-c", procfile()["worker"]], cwd=REPO_ROOT, capture_output=True, text=True,
                            env=process_env(APP_ENV=app_env, REDIS_URL=redis_url), timeout=60)
    assert result.returncode == 1
    assert "ConfigurationError: Refusing to start" in result.stderr
    assert "Worker" not in result.stdout + result.stderr  # rq never started


def test_the_worker_check_passes_in_development(redis_url: str) -> None:
    result = subprocess.run([sys.executable, "-m", "wizard.config"], cwd=REPO_ROOT, capture_output=True,
                            text=True, env=process_env(APP_ENV="development"), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Configuration checked for APP_ENV=development" in result.stdout


@pytest.mark.parametrize("app_env", ["", "Production"])
def test_the_cron_process_refuses_to_start(app_env: str, redis_url: str) -> None:
    result = subprocess.run(["sh", "-c", procfile()["cron"]], cwd=REPO_ROOT, capture_output=True, text=True,
                            env=process_env(APP_ENV=app_env, REDIS_URL=redis_url), timeout=60)
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert not Redis.from_url(redis_url).keys("*cron*")  # no job was registered


def test_a_job_refuses_to_run_with_development_secrets(redis_url: str, merchant: Merchant) -> None:
    # A worker started without the Procfile's check still refuses, job by job.
    redis = Redis.from_url(redis_url)
    job = enqueue_sync(merchant.account.id or 0, "manual", connection=redis)
    result = subprocess.run([str(BIN / "rq"), "worker", "--burst", "--url", redis_url, "sync"], cwd=REPO_ROOT,
                            capture_output=True, text=True, env=process_env(APP_ENV="prod"), timeout=120)
    assert result.returncode == 0, result.stderr
    fetched: Any = Job.fetch(job.id, connection=redis)
    assert fetched.is_failed
    assert "ConfigurationError" in (fetched.latest_result().exc_string or "")
