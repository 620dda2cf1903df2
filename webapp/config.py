"""Configuration from the environment: one name for each setting (see README, Configuration)."""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path

#: The webhook call's connect timeout (seconds); fixed by the design. One call's whole deadline is
#: CONNECT_TIMEOUT + N8N_TIMEOUT (webapp/dispatch/webhook.py).
CONNECT_TIMEOUT = 5.0
#: Seconds allowed, beyond a call's deadline, to write its outcome. DISPATCH_LEASE must exceed
#: both together; an outcome that takes longer is held and its lease renewed (dispatcher._persist).
RECORD_MARGIN = 5.0
#: The largest request body the app reads (bytes): a 3,000-character post is at most ~36 KB even
#: form-encoded with 4-byte characters (each sent as 12 bytes of %XX), plus its image URL and the
#: form's other fields; anything larger is answered 413 before it is read.
MAX_CONTENT_LENGTH = 128 * 1024
#: The largest body /api/posts/dispatch and /api/posts/recover read: QStash's messages are under
#: 100 bytes ({postId, userId, version}), so these unauthenticated endpoints refuse more than this
#: with 413 before reading (webapp/api/alarms.py).
MAX_ALARM_BODY = 4 * 1024


class ConfigError(RuntimeError):
    """The app cannot start with this configuration."""


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None


def _float(env: dict, name: str, default: float) -> float:
    """A duration in seconds: a finite number, more than 0."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a number of seconds greater than 0, got {raw!r}.")
    return value


def normalise_database_url(url: str) -> str:
    """Accept Heroku/Vercel-style `postgres://` URLs and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _secret_key(env: dict, instance_path: Path, production: bool) -> str | None:
    """The Flask secret: from the environment, or (development only) generated once into instance/."""
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    if production:
        return None
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


#: Settings production refuses to start without.
PRODUCTION_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "APP_URL", "N8N_WEBHOOK_URL")
#: What the QStash backend cannot work without: publishing messages, and checking their signatures.
QSTASH_REQUIRED = ("QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY")
#: ... and, unless SCHEDULER_BACKEND=local is chosen explicitly (self-hosting), the QStash path's:
#: the backend's settings, and the cron secret of the recover endpoint.
PRODUCTION_REQUIRED_QSTASH = (*QSTASH_REQUIRED, "CRON_SECRET")


def missing_production_settings(env: dict) -> list[str]:
    """Names of the required production settings that are unset, in a stable order."""
    required = list(PRODUCTION_REQUIRED)
    if (env.get("SCHEDULER_BACKEND") or "").lower() != "local":
        required += PRODUCTION_REQUIRED_QSTASH
    return [name for name in required if not env.get(name)]


def from_env(instance_path: Path, env: dict | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = dict(os.environ if env is None else env)
    production = env.get("APP_ENV", "development").strip().lower() == "production"

    if production:
        missing = missing_production_settings(env)
        if missing:
            raise ConfigError(
                "Production mode (APP_ENV=production) needs these settings: "
                + ", ".join(missing) + "."
            )

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'punctual.db'}"
    n8n_timeout = _float(env, "N8N_TIMEOUT", 30.0)
    backend = (env.get("SCHEDULER_BACKEND") or ("qstash" if env.get("QSTASH_TOKEN") else "local")).lower()
    if backend not in ("local", "qstash"):
        raise ConfigError(f"SCHEDULER_BACKEND must be 'local' or 'qstash', got {backend!r}.")

    lease = _float(env, "DISPATCH_LEASE", 2 * n8n_timeout + 30)
    if lease <= CONNECT_TIMEOUT + n8n_timeout + RECORD_MARGIN:
        # A claim older than the lease is presumed dead and resent: a lease shorter than the
        # longest possible webhook call and its record would resend posts still being sent.
        raise ConfigError(
            f"DISPATCH_LEASE ({lease:g} s) must be longer than one webhook call's deadline (the "
            f"{CONNECT_TIMEOUT:g} s connect timeout plus N8N_TIMEOUT, {n8n_timeout:g} s) plus "
            f"{RECORD_MARGIN:g} s to record its outcome: more than {CONNECT_TIMEOUT + n8n_timeout + RECORD_MARGIN:g} s."
        )

    return {
        "APP_ENV": "production" if production else "development",
        "SECRET_KEY": _secret_key(env, instance_path, production),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "APP_URL": (env.get("APP_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "SCHEDULER_BACKEND": backend,
        # "auto": start the dispatcher thread inside `flask run`; "thread": always (gunicorn);
        # "off": never (run `flask --app webapp worker` instead).
        "LOCAL_DISPATCHER": env.get("LOCAL_DISPATCHER", "auto").lower(),
        "N8N_WEBHOOK_URL": env.get("N8N_WEBHOOK_URL") or None,
        "N8N_WEBHOOK_AUTH_HEADER": env.get("N8N_WEBHOOK_AUTH_HEADER") or None,
        "N8N_WEBHOOK_SECRET": env.get("N8N_WEBHOOK_SECRET") or None,
        "N8N_TIMEOUT": n8n_timeout,
        "DISPATCH_CONCURRENCY": _int(env, "DISPATCH_CONCURRENCY", 32),
        "DISPATCH_LEASE": lease,
        "SWEEP_INTERVAL": _float(env, "SWEEP_INTERVAL", 30.0),
        "MAX_LATENESS": _float(env, "MAX_LATENESS", 12 * 3600.0),
        "MAX_ATTEMPTS": _int(env, "MAX_ATTEMPTS", 8),
        "RETRY_BASE_DELAY": _float(env, "RETRY_BASE_DELAY", 5.0),
        "RETRY_MAX_DELAY": _float(env, "RETRY_MAX_DELAY", 600.0),
        "QSTASH_TOKEN": env.get("QSTASH_TOKEN") or None,
        "QSTASH_URL": env.get("QSTASH_URL") or None,
        "QSTASH_CURRENT_SIGNING_KEY": env.get("QSTASH_CURRENT_SIGNING_KEY") or None,
        "QSTASH_NEXT_SIGNING_KEY": env.get("QSTASH_NEXT_SIGNING_KEY") or None,
        "QSTASH_RETRIES": _int(env, "QSTASH_RETRIES", 3),
        "QSTASH_MAX_DELAY": _float(env, "QSTASH_MAX_DELAY", 7 * 24 * 3600.0),
        "CRON_SECRET": env.get("CRON_SECRET") or None,
        "RECOVER_TIME_BUDGET": _float(env, "RECOVER_TIME_BUDGET", 50.0),
        "TOKEN_ENCRYPTION_KEY": env.get("TOKEN_ENCRYPTION_KEY") or None,
        "LINKEDIN_CLIENT_ID": env.get("LINKEDIN_CLIENT_ID") or None,
        "LINKEDIN_CLIENT_SECRET": env.get("LINKEDIN_CLIENT_SECRET") or None,
        "LINKEDIN_REDIRECT_URI": env.get("LINKEDIN_REDIRECT_URI") or None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        # A restarted Postgres leaves dead pooled connections: ping on checkout. A SQLite file
        # cannot go away under us, so it skips the ping (a SELECT 1 per transaction).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": not database_url.startswith("sqlite")},
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        # Log-in and registration throttling (webapp/accounts/throttle.py has the policy).
        "THROTTLE_ACCOUNT_FREE": _int(env, "THROTTLE_ACCOUNT_FREE", 5),
        "THROTTLE_ACCOUNT_MAX_DELAY": _float(env, "THROTTLE_ACCOUNT_MAX_DELAY", 60.0),
        "THROTTLE_ADDRESS_FAILURES": _int(env, "THROTTLE_ADDRESS_FAILURES", 30),
        "THROTTLE_REGISTRATIONS": _int(env, "THROTTLE_REGISTRATIONS", 10),
        # How many proxies in front of the app append to X-Forwarded-For (Vercel: 1); 0 trusts none.
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        "AUTO_MIGRATE": database_url.startswith("sqlite"),
    }


def demo_inbox_enabled(config) -> bool:
    """Posts go to the built-in inbox when no n8n URL is configured (never in production)."""
    return not config.get("N8N_WEBHOOK_URL") and config.get("APP_ENV") != "production"
