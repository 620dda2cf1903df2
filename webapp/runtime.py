"""Wiring: build the dispatch core from the app's configuration, and start the in-process local
dispatcher when this process is the one serving requests."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import get_debug_flag
from sqlalchemy import Engine

from . import crypto
from .config import QSTASH_REQUIRED, RECORD_MARGIN, ConfigError, demo_inbox_enabled
from .dispatch.actions import Core
from .dispatch.alarms import Alarm, LocalAlarm
from .dispatch.alarms.local import LocalDispatcher
from .dispatch.alarms.qstash import QStashAlarm, QStashSettings, SignatureVerifier, delivery_timeout_for
from .dispatch.dispatcher import Dispatcher, DispatchSettings
from .dispatch.retry import RetryPolicy
from .dispatch.store import Store
from .dispatch.webhook import Webhook, WebhookClient
from .extensions import db
from .inbox.delivery import InboxDelivery
from .models import utcnow

log = logging.getLogger("punctual")

def webhook_for(config, engine: Engine) -> Webhook:
    """n8n, or in demo mode the inbox, written to in this process (whatever address it serves on)."""
    if demo_inbox_enabled(config):
        return InboxDelivery(engine, read_timeout=config["N8N_TIMEOUT"])
    return WebhookClient(config["N8N_WEBHOOK_URL"] or "", auth_header=config["N8N_WEBHOOK_AUTH_HEADER"],
                         secret=config["N8N_WEBHOOK_SECRET"], read_timeout=config["N8N_TIMEOUT"])


def dispatch_settings(config) -> DispatchSettings:
    return DispatchSettings(
        concurrency=max(1, config["DISPATCH_CONCURRENCY"]),
        lease=config["DISPATCH_LEASE"],
        policy=RetryPolicy(max_attempts=config["MAX_ATTEMPTS"], base_delay=config["RETRY_BASE_DELAY"],
                           max_delay=config["RETRY_MAX_DELAY"], max_lateness=config["MAX_LATENESS"]),
        demo_mode=demo_inbox_enabled(config),
    )


def build_core(app: Flask) -> Core:
    """One Core per app (needs an app context for the engine)."""
    config = app.config
    store = Store(db.engine)
    clock = config.get("CLOCK") or utcnow
    dispatcher = Dispatcher(
        store=store, webhook=webhook_for(config, db.engine), settings=dispatch_settings(config), clock=clock,
        decrypt=lambda ciphertext: crypto.decrypt(config, ciphertext),
    )
    return Core(store=store, clock=clock, dispatcher=dispatcher, alarm=alarm_for(config, store, clock))


def qstash_settings(config) -> QStashSettings:
    missing = [name for name in QSTASH_REQUIRED if not config.get(name)]
    if missing:
        raise ConfigError("SCHEDULER_BACKEND=qstash needs these settings: " + ", ".join(missing) + ".")
    return QStashSettings(
        token=config["QSTASH_TOKEN"], app_url=config["APP_URL"].rstrip("/"),
        base_url=config.get("QSTASH_URL"), retries=config["QSTASH_RETRIES"],
        max_delay=config["QSTASH_MAX_DELAY"], delivery_timeout=delivery_timeout_for(config["N8N_TIMEOUT"]),
    )


def alarm_for(config, store: Store, clock) -> Alarm:
    """SCHEDULER_BACKEND picks the alarm clock: a QStash message per post, or the local loop."""
    if config["SCHEDULER_BACKEND"] == "qstash":
        return QStashAlarm(store=store, clock=clock, settings=qstash_settings(config))
    return LocalAlarm()


def signature_verifier() -> SignatureVerifier:
    config = current_app.config
    return SignatureVerifier(current_key=config.get("QSTASH_CURRENT_SIGNING_KEY"),
                             next_key=config.get("QSTASH_NEXT_SIGNING_KEY"))


def new_local_dispatcher(app: Flask) -> LocalDispatcher:
    core: Core = app.extensions["punctual"]
    local = LocalDispatcher(core.dispatcher, sweep_interval=app.config["SWEEP_INTERVAL"],
                            drain_timeout=core.dispatcher.webhook.deadline + RECORD_MARGIN)
    if isinstance(core.alarm, LocalAlarm):
        core.alarm.dispatcher = local
    return local


def run_worker(app: Flask, echo=print) -> None:
    """The local dispatcher as the main loop of this process; SIGTERM/SIGINT drain and return."""
    local = new_local_dispatcher(app)

    def on_signal(signum, _frame):
        echo(f"{signal.Signals(signum).name}: finishing in-flight sends, then exiting.")
        # The handler runs on the main thread between two bytecodes, perhaps inside a lock the
        # loop holds: taking a lock here could deadlock. A thread of its own asks the loop to stop.
        threading.Thread(target=local.request_stop, name="punctual-stop", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    echo(f"Local dispatcher {local.name} running (Ctrl-C or SIGTERM to stop).")
    local.run()
    local.stop()


def serving_under_flask_run() -> bool:
    """True inside `flask run`, in the process that serves (not the reloader's file watcher)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run":
        return False
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        return True  # the reloader's serving child
    reload = ctx.params.get("reload")
    return not (get_debug_flag() if reload is None else reload)


def maybe_start_in_process(app: Flask) -> None:
    """LOCAL_DISPATCHER: auto (inside `flask run`), thread (always, e.g. gunicorn) or off."""
    mode = app.config["LOCAL_DISPATCHER"]
    if app.config["SCHEDULER_BACKEND"] != "local" or mode == "off":
        return
    if mode == "auto" and not serving_under_flask_run():
        return
    local = new_local_dispatcher(app).start()
    atexit.register(local.stop, 2.0)
    log.info("local dispatcher started inside the web process")


def core() -> Core:
    return current_app.extensions["punctual"]
