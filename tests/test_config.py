"""Configuration from the environment, and production mode's start-up checks."""

import pytest

from webapp import create_app
from webapp.config import ConfigError, from_env, normalise_database_url, pooler_mode

PRODUCTION_COMPLETE = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 32,
    "DATABASE_URL": "postgres://u:p@db.example.com:5432/punctual",
    "APP_URL": "https://punctual.example.com",
    "N8N_WEBHOOK_URL": "https://n8n.example.com/webhook/linkedin-post",
    "QSTASH_TOKEN": "qstash-token",
    "QSTASH_CURRENT_SIGNING_KEY": "sig_current",
    "QSTASH_NEXT_SIGNING_KEY": "sig_next",
    "CRON_SECRET": "cron-secret",
}


def test_production_refuses_to_start_and_names_every_missing_setting(tmp_path):
    with pytest.raises(ConfigError) as info:
        from_env(tmp_path, {"APP_ENV": "production", "SECRET_KEY": "x"})
    message = str(info.value)
    for name in ("DATABASE_URL", "APP_URL", "N8N_WEBHOOK_URL", "QSTASH_TOKEN",
                 "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY", "CRON_SECRET"):
        assert name in message
    assert "SECRET_KEY" not in message


def test_create_app_in_production_mode_stops_without_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_production_with_every_setting_uses_secure_cookies_and_postgres(tmp_path):
    config = from_env(tmp_path, PRODUCTION_COMPLETE)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example.com:5432/punctual"
    assert config["SCHEDULER_BACKEND"] == "qstash"
    assert not (tmp_path / "secret_key").exists()


def test_self_hosted_production_with_the_local_backend_needs_no_qstash_settings(tmp_path):
    env = {k: v for k, v in PRODUCTION_COMPLETE.items() if "QSTASH" not in k and k != "CRON_SECRET"}
    config = from_env(tmp_path, {**env, "SCHEDULER_BACKEND": "local"})
    assert config["SCHEDULER_BACKEND"] == "local"


def test_development_generates_a_secret_key_once_and_keeps_it(tmp_path):
    first = from_env(tmp_path, {})["SECRET_KEY"]
    second = from_env(tmp_path, {})["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_development_defaults(tmp_path):
    config = from_env(tmp_path, {})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'punctual.db'}"
    assert config["SCHEDULER_BACKEND"] == "local"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["DISPATCH_LEASE"] == 90.0  # 2 x N8N_TIMEOUT + 30
    assert config["APP_URL"] == "http://127.0.0.1:5000"


@pytest.mark.parametrize("given, expected", [
    ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_urls_are_normalised_for_psycopg3(given, expected):
    assert normalise_database_url(given) == expected


@pytest.mark.parametrize("url, setting, expected", [
    # auto (the default): read from the URL
    ("postgresql://u:p@127.0.0.1:6432/app", None, "transaction"),  # PgBouncer's default port
    ("postgresql://postgres.abc:p@aws-0-eu-central-1.pooler.supabase.com:6543/postgres", None, "transaction"),
    ("postgresql://u:p@ep-cool-name-123-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require", "auto",
     "transaction"),
    # Supabase's session pooler (port 5432), direct connections, SQLite: prepares are fine
    ("postgresql://postgres.abc:p@aws-0-eu-central-1.pooler.supabase.com:5432/postgres", None, "none"),
    ("postgresql://u:p@ep-cool-name-123.eu-central-1.aws.neon.tech/neondb", None, "none"),
    ("postgres://u:p@db.abc.supabase.co:5432/postgres", None, "none"),
    ("sqlite:////tmp/x.db", None, "none"),
    # said outright: wins over the URL (a pooler on another port, or a direct URL on 6432)
    ("postgresql://u:p@pooler.internal:5432/app", "transaction", "transaction"),
    ("postgresql://u:p@127.0.0.1:6432/app", "none", "none"),
    ("postgresql://u:p@127.0.0.1:6432/app", " Session ", "session"),
])
def test_a_transaction_mode_pooler_is_told_or_read_from_the_url(url, setting, expected):
    assert pooler_mode(url, setting) == expected


def test_behind_a_transaction_pooler_psycopg_prepares_nothing_on_the_server(tmp_path):
    def connect_args(url, **env):
        config = {**from_env(tmp_path, {"DATABASE_URL": url, **env}), "LOCAL_DISPATCHER": "off"}
        return create_app(config).config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {})

    assert connect_args("postgresql://u@127.0.0.1:6432/app") == {"prepare_threshold": None}
    assert connect_args("postgresql://u@db.example.com/app", DATABASE_POOLER="transaction") == {
        "prepare_threshold": None}
    assert "prepare_threshold" not in connect_args("postgresql://u@db.example.com:5432/app")


@pytest.mark.parametrize("env, message", [
    ({"DATABASE_POOLER": "pgbouncer"}, "DATABASE_POOLER must be one of auto, transaction, session, none"),
    ({"N8N_TIMEOUT": "soon"}, "N8N_TIMEOUT must be a number"),
    ({"DISPATCH_CONCURRENCY": "1.5"}, "DISPATCH_CONCURRENCY must be a whole number"),
    ({"SCHEDULER_BACKEND": "cron"}, "SCHEDULER_BACKEND must be 'local' or 'qstash'"),
    ({"N8N_TIMEOUT": "inf"}, "N8N_TIMEOUT must be a number of seconds greater than 0"),
    ({"N8N_TIMEOUT": "nan"}, "N8N_TIMEOUT must be a number of seconds greater than 0"),
    ({"SWEEP_INTERVAL": "-1"}, "SWEEP_INTERVAL must be a number of seconds greater than 0"),
    ({"RETRY_MAX_DELAY": "1e400"}, "RETRY_MAX_DELAY must be a number of seconds greater than 0"),
    # a lease shorter than one call's deadline (connect 5 s + N8N_TIMEOUT) plus 5 s to record its
    # outcome would resend posts still being sent
    ({"N8N_TIMEOUT": "30", "DISPATCH_LEASE": "35"}, r"DISPATCH_LEASE \(35 s\) must be longer .* more than 40 s"),
    # the setting that sent 26 of 40 posts twice
    ({"N8N_TIMEOUT": "4", "DISPATCH_LEASE": "10"}, r"more than 14 s"),
    ({"N8N_TIMEOUT": "4", "DISPATCH_LEASE": "14"}, r"more than 14 s"),
])
def test_malformed_settings_are_refused_with_a_sentence(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        from_env(tmp_path, env)


def test_a_lease_just_longer_than_a_call_and_its_record_is_accepted(tmp_path):
    assert from_env(tmp_path, {"N8N_TIMEOUT": "4", "DISPATCH_LEASE": "14.5"})["DISPATCH_LEASE"] == 14.5


def test_qstash_token_selects_the_qstash_backend_unless_overridden(tmp_path):
    assert from_env(tmp_path, {"QSTASH_TOKEN": "t"})["SCHEDULER_BACKEND"] == "qstash"
    assert from_env(tmp_path, {"QSTASH_TOKEN": "t", "SCHEDULER_BACKEND": "local"})["SCHEDULER_BACKEND"] == "local"
