"""Login and registration throttling, held in the database (`auth_failures`), so every process and
serverless instance sees the same counts; nothing is kept in memory.

The policy (README "Security"):
- **per account** (the email typed, whether or not there is such an account): the first
  `THROTTLE_ACCOUNT_FREE` failures within 15 minutes cost nothing; after that each attempt waits
  2 s, 4 s, 8 s … after the latest failure, never more than `THROTTLE_ACCOUNT_MAX_DELAY`. A
  successful log-in clears the account's failures. An attacker can keep an account at that
  cap, but never lock it: its owner waits at most the cap, and always gets an attempt then.
- **per client address** (an IPv6 address counts by its /64): at most `THROTTLE_ADDRESS_FAILURES`
  failed log-ins within 15 minutes, whatever the accounts; then that address waits until the
  oldest of them is 15 minutes old. One machine cannot spray many accounts.
- **registrations**: at most `THROTTLE_REGISTRATIONS` attempts per client address per hour.

A throttled attempt is refused before the password is hashed (no scrypt CPU) and is not counted.
Behind a proxy, set `TRUSTED_PROXIES` so that the client's address is read from X-Forwarded-For.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import delete, func, insert, select

from ..dispatch.errors import PunctualError
from ..extensions import db
from ..models import auth_failures

WINDOW = timedelta(minutes=15)
REGISTER_WINDOW = timedelta(hours=1)
#: Rows older than this are no use to any rule, and are deleted as new ones are written.
KEEP = max(WINDOW, REGISTER_WINDOW)

ACCOUNT, ADDRESS, REGISTER = "account", "address", "register"


class Throttled(PunctualError):
    """Too many attempts; try again later."""

    status = 429

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


def _key(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()


def client_address() -> str:
    """The client's address (ProxyFix has applied TRUSTED_PROXIES); an IPv6 address as its /64,
    which one subscriber usually holds whole."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _when(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def account_delay(failures: int) -> float:
    """Seconds an account waits after its latest failure, given its failures in the window."""
    free = current_app.config["THROTTLE_ACCOUNT_FREE"]
    if failures < free:
        return 0.0
    return float(min(current_app.config["THROTTLE_ACCOUNT_MAX_DELAY"], 2 ** (failures - free + 1)))


def _recent(scope: str, key: str, since: datetime) -> tuple[int, datetime | None]:
    count, latest = db.session.execute(
        select(func.count(), func.max(auth_failures.c.at))
        .where(auth_failures.c.scope == scope, auth_failures.c.key == key, auth_failures.c.at > since)
    ).one()
    return count, latest


def _nth_latest(scope: str, key: str, since: datetime, n: int) -> datetime | None:
    """The n-th most recent row's time (1 = the latest) within the window, if there are n."""
    return db.session.execute(
        select(auth_failures.c.at)
        .where(auth_failures.c.scope == scope, auth_failures.c.key == key, auth_failures.c.at > since)
        .order_by(auth_failures.c.at.desc()).offset(n - 1).limit(1)
    ).scalar_one_or_none()


def check_login(email: str, address: str, now: datetime) -> None:
    """Raise Throttled if this log-in may not be tried now (before any password is hashed)."""
    limit = current_app.config["THROTTLE_ADDRESS_FAILURES"]
    oldest_counted = _nth_latest(ADDRESS, _key(ADDRESS, address), now - WINDOW, limit)
    if oldest_counted is not None:
        wait = (oldest_counted + WINDOW - now).total_seconds()
        raise Throttled(f"Too many failed log-ins from your network. Try again in {_when(math.ceil(wait))}.",
                        wait)
    count, latest = _recent(ACCOUNT, _key(ACCOUNT, email), now - WINDOW)
    if latest is not None:
        wait = (latest + timedelta(seconds=account_delay(count)) - now).total_seconds()
        if wait > 0:
            raise Throttled(f"Too many failed log-ins for this account. Try again in {_when(math.ceil(wait))}.",
                            wait)


def _record(rows: list[tuple[str, str]], now: datetime) -> None:
    db.session.execute(delete(auth_failures).where(auth_failures.c.at < now - KEEP))
    db.session.execute(insert(auth_failures), [{"scope": s, "key": _key(s, v), "at": now} for s, v in rows])
    db.session.commit()


def login_failed(email: str, address: str, now: datetime) -> None:
    _record([(ACCOUNT, email), (ADDRESS, address)], now)


def login_succeeded(email: str) -> None:
    """A successful log-in clears the account's failures (the address's stay counted)."""
    db.session.execute(delete(auth_failures).where(auth_failures.c.scope == ACCOUNT,
                                                   auth_failures.c.key == _key(ACCOUNT, email)))
    db.session.commit()


def check_register(address: str, now: datetime) -> None:
    limit = current_app.config["THROTTLE_REGISTRATIONS"]
    oldest_counted = _nth_latest(REGISTER, _key(REGISTER, address), now - REGISTER_WINDOW, limit)
    if oldest_counted is not None:
        wait = (oldest_counted + REGISTER_WINDOW - now).total_seconds()
        raise Throttled(f"Too many registrations from your network. Try again in {_when(math.ceil(wait))}.", wait)


def register_attempted(address: str, now: datetime) -> None:
    _record([(REGISTER, address)], now)
