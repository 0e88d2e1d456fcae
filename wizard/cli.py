"""``flask`` commands for operators: accounts, demo data, database migrations, key rotation."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlmodel import select

from wizard.db import session_scope


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(create_account)
    app.cli.add_command(set_password)
    app.cli.add_command(demo_data)
    app.cli.add_command(db_upgrade)
    app.cli.add_command(rotate_token_keys)


@click.command("create-account")
@click.option("--name", required=True, help="The merchant account's name.")
@click.option("--admin-email", required=True)
@click.option("--admin-name", default="Admin")
@click.password_option("--admin-password")
def create_account(name: str, admin_email: str, admin_name: str, admin_password: str) -> None:
    """Create a merchant account and its first admin."""
    from wizard.accounts.service import AccountError, create_account_with_admin

    with session_scope(current_app.config["DATABASE_URL"]) as session:
        try:
            account = create_account_with_admin(session, name=name, email=admin_email,
                                                user_name=admin_name, password=admin_password)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Created account {account.name!r} (id {account.id}) with admin {admin_email}.")


@click.command("set-password")
@click.option("--email", required=True, help="The user's email address.")
@click.password_option("--password")
def set_password(email: str, password: str) -> None:
    """Set a user's password and sign them out everywhere (for a lost password or a stolen session)."""
    from wizard.accounts.service import AccountError, change_password
    from wizard.models import User

    with session_scope(current_app.config["DATABASE_URL"]) as session:
        user = session.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise click.ClickException(f"No user has the email {email}.")
        try:
            change_password(session, user, password)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Set the password of {user.email}; every session they had is signed out.")


@click.command("demo-data")
def demo_data() -> None:
    """Load the demo account, its users and catalog (idempotent), and print the sign-ins."""
    from wizard import demo

    with session_scope(current_app.config["DATABASE_URL"]) as session:
        sign_ins = demo.load(session, current_app.config)
    click.echo(f"Demo sign-ins (password for all: {demo.DEMO_PASSWORD}):")
    for role, email in sign_ins:
        click.echo(f"  {role:<8} {email}")


@click.command("db-upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (Alembic) up to the newest."""
    from wizard.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


@click.command("rotate-token-keys")
def rotate_token_keys() -> None:
    """Re-encrypt every stored token with the newest key of TOKEN_ENCRYPTION_KEYS."""
    from wizard.crypto import TokenCipher
    from wizard.models import Connection

    cipher = TokenCipher(current_app.config["TOKEN_ENCRYPTION_KEYS"])
    count = 0
    with session_scope(current_app.config["DATABASE_URL"]) as session:
        for connection in session.exec(select(Connection)):
            for field in ("refresh_token_encrypted", "pending_refresh_token_encrypted"):
                value = getattr(connection, field)
                if value:
                    setattr(connection, field, cipher.rotate(value))
                    count += 1
        session.commit()
    click.echo(f"Re-encrypted {count} token(s) with the newest key.")
