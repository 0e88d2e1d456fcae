"""Demo data for ``make run``: one merchant account with an admin, a manager and a staff user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, select

from wizard.accounts import create_user
from wizard.models import Account, Role, User

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed to the developer on purpose
DEMO_ACCOUNT = "Demo Outfitters"
DEMO_USERS = [
    (Role.ADMIN, "admin@demo.example", "Avery Admin"),
    (Role.MANAGER, "manager@demo.example", "Morgan Manager"),
    (Role.STAFF, "staff@demo.example", "Sam Staff"),
]


def load(session: Session, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Create the demo account and users if missing; return (role, email) sign-ins."""
    account = session.exec(select(Account).where(Account.name == DEMO_ACCOUNT)).first()
    if account is None:
        account = Account(name=DEMO_ACCOUNT)
        session.add(account)
        session.flush()
    for role, email, name in DEMO_USERS:
        if session.exec(select(User).where(User.email == email)).first() is None:
            create_user(session, account, email=email, name=name, password=DEMO_PASSWORD, role=role)
    session.commit()
    return [(role.value, email) for role, email, _ in DEMO_USERS]
