"""Secrets at rest: Fernet for LinkedIn tokens, SHA-256 for API tokens, masking for display."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

API_TOKEN_PREFIX = "pct_"


class TokenDecryptError(RuntimeError):
    """The stored LinkedIn token cannot be decrypted with the configured key."""


def fernet_for(config) -> Fernet:
    """The Fernet used for LinkedIn tokens: TOKEN_ENCRYPTION_KEY, else derived from SECRET_KEY."""
    return _fernet(config.get("TOKEN_ENCRYPTION_KEY") or None, config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _fernet(encryption_key: str | bytes | None, secret_key: str) -> Fernet:
    """Built once per key: every send decrypts a token, and HKDF + Fernet setup is not free."""
    if encryption_key:
        return Fernet(encryption_key.encode() if isinstance(encryption_key, str) else encryption_key)
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"punctual linkedin token v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(config, plaintext: str) -> str:
    return fernet_for(config).encrypt(plaintext.encode()).decode()


def decrypt(config, ciphertext: str) -> str:
    try:
        return fernet_for(config).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptError(TokenDecryptError.__doc__) from None


def mask(secret: str | None, keep: int = 4) -> str:
    """`abcd…wxyz`-style display form that never reveals the middle of a secret."""
    if not secret:
        return ""
    if len(secret) <= keep * 3:
        return "•" * 8
    return f"{secret[:keep]}…{secret[-keep:]}"


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())
