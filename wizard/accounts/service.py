"""Creating merchant accounts and users."""

from __future__ import annotations

from sqlmodel import Session, col, select

from wizard.models import Account, Role, User
from wizard.security import end_sessions, hash_password


class AccountError(ValueError):
    """The account or user cannot be created as asked."""


MIN_PASSWORD_LENGTH = 8


def change_password(session: Session, user: User, password: str) -> None:
    """Set ``user``'s password and end every session they had (a stolen cookie stops working too)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    user.password_hash = hash_password(password)
    end_sessions(user)
    session.add(user)
    session.commit()


def create_user(session: Session, account: Account, *, email: str, name: str, password: str,
                role: Role) -> User:
    """Add a user to ``account``; emails are unique and stored lower-case."""
    email = email.strip().lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise AccountError(f"A user with the email {email} already exists.")
    assert account.id is not None
    user = User(account_id=account.id, email=email, name=name, password_hash=hash_password(password),
                role=role)
    session.add(user)
    session.flush()
    return user


def create_account_with_admin(session: Session, *, name: str, email: str, user_name: str,
                              password: str) -> Account:
    """Create an account and its first admin, committing both or neither."""
    account = Account(name=name.strip())
    if not account.name:
        raise AccountError("The account needs a name.")
    session.add(account)
    session.flush()
    try:
        create_user(session, account, email=email, name=user_name, password=password, role=Role.ADMIN)
    except AccountError:
        session.rollback()
        raise
    session.commit()
    return account


def managers_of(session: Session, account_id: int) -> list[User]:
    """Return the account's admins and managers: whom a staff user asks to change the integration."""
    return list(session.exec(
        select(User).where(User.account_id == account_id, col(User.role).in_([Role.ADMIN, Role.MANAGER]))
        .order_by(col(User.role), col(User.name))
    ))
