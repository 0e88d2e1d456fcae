"""Encryption at rest for Amazon tokens (Fernet, with key rotation through MultiFernet)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenCipher:
    """Encrypt and decrypt secrets with the first key; decrypt with any of the configured keys.

    Keys come from ``TOKEN_ENCRYPTION_KEYS`` (comma-separated Fernet keys, newest first), so an operator
    rotates by prepending a new key, running ``flask rotate-token-keys`` and later dropping the old one.
    """

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("TOKEN_ENCRYPTION_KEYS is empty")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])

    def encrypt(self, plaintext: str) -> str:
        """Return the ciphertext of ``plaintext`` as text."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """Return the plaintext, or raise ``InvalidToken`` if no configured key opens it."""
        return self._fernet.decrypt(ciphertext.encode()).decode()

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt ``ciphertext`` with the newest key."""
        return self._fernet.rotate(ciphertext.encode()).decode()


__all__ = ["InvalidToken", "TokenCipher"]
