"""Tokens at rest: Fernet encryption, key rotation with MultiFernet, and ``flask rotate-token-keys``."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from wizard import create_app
from wizard.crypto import InvalidToken, TokenCipher
from wizard.models import Account, Connection

REFRESH = "Atzr|IwEBIExampleRefreshToken"


def test_a_token_round_trips_and_is_not_stored_in_plain_text() -> None:
    cipher = TokenCipher(Fernet.generate_key().decode())
    secret = cipher.encrypt(REFRESH)
    assert REFRESH not in secret and "Atzr" not in secret
    assert cipher.decrypt(secret) == REFRESH


def test_a_token_from_an_old_key_still_decrypts_after_a_new_key_is_prepended() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    secret = TokenCipher(old).encrypt(REFRESH)
    rotated_config = TokenCipher(f"{new},{old}")
    assert rotated_config.decrypt(secret) == REFRESH
    with pytest.raises(InvalidToken):
        TokenCipher(new).decrypt(secret)
    reencrypted = rotated_config.rotate(secret)
    assert TokenCipher(new).decrypt(reencrypted) == REFRESH


def test_an_empty_key_list_is_refused() -> None:
    with pytest.raises(ValueError, match="TOKEN_ENCRYPTION_KEYS"):
        TokenCipher(" , ")


def test_rotate_token_keys_reencrypts_every_stored_token(database_url: str, db: Session) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    account = Account(name="Acme")
    db.add(account)
    db.flush()
    db.add(Connection(account_id=account.id or 0, selling_partner_id="A1",
                      refresh_token_encrypted=TokenCipher(old).encrypt(REFRESH),
                      pending_refresh_token_encrypted=TokenCipher(old).encrypt(REFRESH + "2")))
    db.commit()
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "k",
                      "TOKEN_ENCRYPTION_KEYS": f"{new},{old}"})
    with app.app_context():  # as the ``flask`` command line does
        result = app.test_cli_runner().invoke(args=["rotate-token-keys"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 token(s)" in result.output
    db.expire_all()
    connection = db.exec(select(Connection)).one()
    assert TokenCipher(new).decrypt(connection.refresh_token_encrypted or "") == REFRESH
    assert TokenCipher(new).decrypt(connection.pending_refresh_token_encrypted or "") == REFRESH + "2"
