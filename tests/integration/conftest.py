"""Fixtures shared by the integration tests of the connect flow (a module's own fixture of the name wins)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import Merchant, sign_in
from tests.integration.connect_support import AmazonSide, acknowledge
from wizard.models import User


@pytest.fixture
def amazon() -> AmazonSide:
    """The merchant's browser on Amazon's pages."""
    return AmazonSide()


@pytest.fixture
def admin(client: FlaskClient, merchant: Merchant, db: Session) -> User:
    """An admin signed in, with the prerequisites confirmed."""
    acknowledge(db, merchant.account)
    sign_in(client, merchant.user("admin"))
    return merchant.user("admin")

