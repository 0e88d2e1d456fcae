"""Fixtures shared by every layer of tests. Service fixtures live in ``tests/fixtures/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, SQLModel

from wizard import create_app
from wizard.accounts.service import create_user
from wizard.db import engine_for
from wizard.models import Account, Role, User

# Every process the tests start (app, rq workers, cron) inherits this: the development secrets are allowed
# only when APP_ENV says so explicitly.
os.environ["APP_ENV"] = "test"

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.databases",
    "tests.fixtures.sandbox",
    "tests.fixtures.live",
    "tests.fixtures.worker",
    "tests.fixtures.reconcile",
]

PASSWORD = "correct-horse-battery"


def pytest_configure(config: pytest.Config) -> None:
    """Stop at once, with what to do, when Amazon's models are not where the sandbox and tests read them."""
    from sandbox.models import models_dir

    folder = models_dir()
    if not (folder / "listings-feed-schema-v2.json").is_file():
        raise pytest.UsageError(
            f"Amazon's models and schemas were not found in {folder}. Put the shared/ folder beside this "
            "repository (shared/amazon-spapi) or set AMAZON_MODELS_DIR to the folder that holds them.")


def create_schema(database_url: str) -> None:
    """Create every table in a fresh database."""
    import wizard.models  # noqa: F401 - registers every table

    SQLModel.metadata.create_all(engine_for(database_url))


@pytest.fixture
def app_config(database_url: str, redis_url: str, sandbox, tmp_path: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Configuration for a test app pointed at the sandbox: only the base URLs differ from production."""
    sandbox.register_app("http://localhost")
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key",
        "AMAZON_SELLER_CENTRAL_URL": sandbox.url,
        "AMAZON_LWA_TOKEN_URL": sandbox.url + "/auth/o2/token",
        "AMAZON_SPAPI_ENDPOINT": sandbox.url,
        "PUBLIC_BASE_URL": "http://localhost",
        "SERVER_NAME": None,
        "IMPORT_DIR": str(tmp_path / "imports"),
        # The dry run before a first sync has its own tests (tests/integration/test_amazon_check.py).
        "CHECK_BEFORE_FIRST_SYNC": False,
        # The urgent lane (issue 11 §1) has its own tests (tests/integration/test_urgent_lane.py).
        "URGENT_LANE": False,
    }


@pytest.fixture
def app(app_config: dict[str, object]) -> Iterator[Flask]:
    """The web app, bound to a fresh database, a clean Redis and the sandbox."""
    application = create_app(app_config)
    yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the web app."""
    return app.test_client()


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    """A database session for arranging and checking state."""
    with Session(engine_for(database_url), expire_on_commit=False) as session:
        yield session


@dataclass
class Merchant:
    """A merchant account with one user of each role."""

    account: Account
    users: dict[Role, User]

    def user(self, role: Role | str) -> User:
        return self.users[Role(role)]


def make_merchant(db: Session, name: str = "Acme Outdoor", domain: str = "acme.example") -> Merchant:
    """Create an account with an admin, a manager and a staff user."""
    account = Account(name=name)
    db.add(account)
    db.flush()
    users = {
        role: create_user(db, account, email=f"{role.value}@{domain}", name=f"{role.value.title()} User",
                          password=PASSWORD, role=role)
        for role in Role
    }
    db.commit()
    return Merchant(account=account, users=users)


@pytest.fixture
def merchant(db: Session) -> Merchant:
    """The default merchant account of a test."""
    return make_merchant(db)


def sign_in(client: FlaskClient, user: User) -> None:
    """Sign ``user`` in through the real sign-in form."""
    from tests.helpers import csrf_token

    token = csrf_token(client, "/sign-in")
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def signed_in_as(client: FlaskClient, merchant: Merchant):  # type: ignore[no-untyped-def]
    """Sign in as the merchant's user of a given role: ``signed_in_as("admin")``."""

    def _sign_in(role: str | Role) -> User:
        user = merchant.user(role)
        sign_in(client, user)
        return user

    return _sign_in
