"""The only code that writes posts. Every state change is one guarded UPDATE whose WHERE clause
restates the conditions for the move; the caller learns whether it won from the rows changed.
The statuses in those guards come from the table in states.py (`ALLOWED`, `MOVES`).

User actions (edit, schedule, unschedule, duplicate, delete …) read the row first so a refusal can
say exactly why (404 / 409), then write guarded on the version and status they read: if another
writer got there first the guard fails and the action re-reads. Dispatcher moves (claim, fence,
confirm, fail, retry_later, miss, reclaim) are single statements with no read before them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.dml import Insert, Update

from ..models import UTCDateTime, attempts, heartbeats, linkedin_connections, new_post_id, pipeline_checks, posts
from .errors import Conflict, NotFound
from .states import LEADS_TO, Action, Move, PostStatus, allows, due_at, refusal, source, target

S, A, M = PostStatus, Action, Move
_OPTIMISTIC_TRIES = 5
T = TypeVar("T")
if TYPE_CHECKING:
    _Row = Row[*tuple[Any, ...]]  # a result row of any shape


def idempotency_key(post_id: str, version: int) -> str:
    """What n8n gets to drop repeats by: one user intention (a post's schedule version), one key."""
    return f"{post_id}:{version}"


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A post this dispatcher won the right to send: everything the webhook call needs."""

    post_id: str
    user_id: int
    version: int
    attempt: int  # attempt_count after this claim: the fencing token for fail / retry_later
    content: str
    image_url: str | None
    scheduled_at: datetime
    claimed_at: datetime
    #: The owner's LinkedIn connection (person_urn, access_token_encrypted, expires_at), read in
    #: the claim's own transaction; None when the owner has none.
    connection: Any = None
    #: Taken over by the sweep from a claimer that died (crash recovery), not claimed when due.
    reclaimed: bool = False

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.post_id, self.version)


@dataclass(frozen=True, kw_only=True)
class Change:
    """The result of a user's schedule / unschedule / delete: what the alarms must be told."""

    post_id: str
    user_id: int
    version: int
    old_message_id: str | None
    scheduled_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class AttemptRecord:
    trigger: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # published | retry | failed | unconfirmed | skipped
    http_status: int | None = None
    error: str | None = None

    @property
    def duration_ms(self) -> int:
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


_CLAIM_COLUMNS = (
    posts.c.id,
    posts.c.user_id,
    posts.c.schedule_version,
    posts.c.attempt_count,
    posts.c.content,
    posts.c.image_url,
    posts.c.scheduled_at,
    posts.c.claimed_at,
)


class _Owner(NamedTuple):
    """A claim's owner's LinkedIn connection, as the dispatcher reads it."""

    person_urn: str
    access_token_encrypted: str
    expires_at: datetime | None


def _claim_from(row: _Row, *, reclaimed: bool = False) -> Claim:
    return Claim(
        post_id=row.id,
        user_id=row.user_id,
        version=row.schedule_version,
        attempt=row.attempt_count,
        content=row.content,
        image_url=row.image_url,
        scheduled_at=row.scheduled_at,
        claimed_at=row.claimed_at,
        reclaimed=reclaimed,
    )


def _due(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """A post the claim may take at `now`: scheduled, its time come, its backoff (if any) over.
    This is states.due_at(...) <= now, said in SQL; `now` may be a bind parameter."""
    return and_(
        posts.c.status == source(M.CLAIM),
        posts.c.scheduled_at <= now,
        or_(posts.c.next_attempt_at.is_(None), posts.c.next_attempt_at <= now),
    )


#: "No lower bound" for the prebuilt statements' not_before parameter.
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class _Hot:
    """The dispatcher's hot statements, built once with bind parameters.

    Building a Core statement on every call cost 2.2 ms of CPU against 0.7 ms for the same
    statement prebuilt (bench/dispatch_endpoint.py, docs/benchmarks.md); a send runs four of them.
    The guards are the same as everywhere else in this module: `_due`, and the status a move
    starts from (`b_from`, states.source(move)), given with the parameters.
    """

    def __init__(self, store: Store):
        now = bindparam("now", type_=UTCDateTime())
        not_before = bindparam("not_before", type_=UTCDateTime())
        due = _due(now)
        claimed = {"status": target(M.CLAIM), "claimed_at": now, "attempt_count": posts.c.attempt_count + 1,
                   "updated_at": now}
        self.claim = (update(posts)
                      .where(posts.c.id == bindparam("post_id"), posts.c.schedule_version == bindparam("version"), due)
                      .values(**claimed).returning(*_CLAIM_COLUMNS))
        in_time = and_(due, posts.c.scheduled_at >= not_before)
        self.claim_due = (update(posts)
                          .where(store._batch(in_time, posts.c.scheduled_at, bindparam("limit")))
                          .values(**claimed).returning(*_CLAIM_COLUMNS))
        #: the owner's LinkedIn connection, read with a claim (Store._claimed)
        self.owner = (select(linkedin_connections.c.person_urn, linkedin_connections.c.access_token_encrypted,
                             linkedin_connections.c.expires_at)
                      .where(linkedin_connections.c.user_id == bindparam("user_id")))
        self.connections = (select(linkedin_connections.c.user_id, linkedin_connections.c.person_urn,
                                   linkedin_connections.c.access_token_encrypted, linkedin_connections.c.expires_at)
                            .where(linkedin_connections.c.user_id.in_(bindparam("user_ids", expanding=True))))
        # outcomes: the SET clause comes from the parameters' column names
        guard = (posts.c.id == bindparam("b_post_id"), posts.c.status == bindparam("b_from"),
                 posts.c.schedule_version == bindparam("b_version"))
        self.finish_any_claim = update(posts).where(*guard)
        self.finish_this_claim = update(posts).where(*guard, posts.c.attempt_count == bindparam("b_attempt"))
        #: the fence: this claim is still the current one; restart its lease
        self.fence = (update(posts).where(*guard, posts.c.attempt_count == bindparam("b_attempt"))
                      .values(claimed_at=now))
        self.record_attempt = insert(attempts)
        scheduled_from = (posts.c.status == S.SCHEDULED, posts.c.scheduled_at >= not_before)
        self.next_fresh = (select(posts.c.scheduled_at).where(*scheduled_from, posts.c.next_attempt_at.is_(None))
                           .order_by(posts.c.scheduled_at).limit(1))
        self.next_backoff = (select(posts.c.next_attempt_at)
                             .where(*scheduled_from, posts.c.next_attempt_at.is_not(None))
                             .order_by(posts.c.next_attempt_at).limit(1))


#: A statement compiled for the DBAPI: (SQL text, the parameter order when positional, the
#: values it fixed itself — literals such as a status become parameters too).
_Compiled = tuple[str, tuple[str, ...] | None, dict[str, Any]]


class _Direct:
    """The statements of every send (the fence, the outcome and its attempt), run on the DBAPI
    connection directly. Through a SQLAlchemy Connection each cost ~130 us of CPU on SQLite and
    ~300 us on Postgres (pool checkout, pre-ping, execution context), against ~40 and ~170 us
    here (tools/… see docs/benchmarks.md, "CPU per post"). The statements themselves are the Core
    ones of _Hot, compiled once for the engine's dialect: the guards keep their one home.

    Each transaction borrows a connection from the engine's pool; one that raises is discarded.
    """

    def __init__(self, engine: Engine, write_lock: contextlib.AbstractContextManager[Any]):
        self.engine = engine
        self.write_lock = write_lock
        self.sqlite = engine.dialect.name == "sqlite"
        self.dbapi_error = engine.dialect.loaded_dbapi.Error
        self._compiled: dict[Any, _Compiled] = {}

    def compiled(self, key: Any, build: Callable[[], Update | Insert | Select[Any]]) -> _Compiled:
        """(SQL text, the order of its parameters when the DBAPI takes them by position)."""
        found = self._compiled.get(key)
        if found is None:
            compiled = build().compile(dialect=self.engine.dialect)
            found = (compiled.string, tuple(compiled.positiontup or ()) if compiled.positional else None,
                     {k: v for k, v in compiled.params.items() if v is not None})
            self._compiled[key] = found
        return found

    @staticmethod
    def instant(value: str | datetime) -> datetime:
        """A UTCDateTime column's value as read directly: aware UTC (SQLite gives naive UTC text)."""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def bind(self, value: Any) -> Any:
        """A parameter as the column type would bind it (UTCDateTime: naive UTC text on SQLite)."""
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(timezone.utc)
            return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else value
        return value

    def run(self, work: Callable[[Callable[[_Compiled, dict[str, Any]], Any]], T]) -> T:
        """One transaction: `work(execute)`, where execute(compiled, params) runs one statement and
        returns the DBAPI cursor (its `rowcount`, its rows)."""
        with self.write_lock:
            raw = self.engine.raw_connection()
            cursor = raw.cursor()
            current = ""

            def execute(statement: _Compiled, params: dict[str, Any]) -> Any:
                nonlocal current
                current, order, fixed = statement
                values = {**fixed, **params}
                bind = self.bind
                cursor.execute(current, tuple(bind(values[k]) for k in order) if order is not None
                               else {k: bind(v) for k, v in values.items()})
                return cursor

            try:
                result = work(execute)
                raw.commit()
            except self.dbapi_error as exc:
                raw.invalidate()
                raise DBAPIError.instance(current, None, exc, self.dbapi_error) from exc
            except BaseException:
                raw.invalidate()
                raise
            finally:
                raw.close()  # back to the pool (an invalidated one is replaced)
            return result


class Store:
    """Guarded writes (and the few reads the dispatcher needs) over one SQLAlchemy engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        # SQLite has one writer at a time; threads of this process take turns on a Python lock
        # (woken at once) instead of colliding and sleeping in SQLite's busy handler (1, 2, 5 …
        # 100 ms steps). Other processes still wait through the busy timeout.
        self._write_lock = contextlib.nullcontext() if self.is_postgres else threading.Lock()
        self._hot = _Hot(self)
        self._direct = _Direct(engine, self._write_lock)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction."""
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def _batch(self, cond: ColumnElement[bool], order: ColumnElement[Any], limit: Any) -> ColumnElement[bool]:
        """The WHERE clause of one batch UPDATE: up to `limit` rows matching `cond`, picked in order.

        Postgres: `id IN` a MATERIALIZED CTE with FOR UPDATE SKIP LOCKED — evaluated exactly once
        (a plain IN-subquery may be re-run per row and exceed the LIMIT), and concurrent dispatchers
        split the rows instead of queueing on each other's locks — and `cond` again, rechecked on
        each locked row. SQLite: `id IN` a subquery carrying `cond`, alone. One SQLite statement is
        atomic, so the pick and the update see the same rows; repeating `cond` outside made SQLite
        walk every due post through the (status, scheduled_at) index instead of looking the picked
        ids up by key: 346 us of CPU per claimed post with 2,000 due, against 27 us
        (bench/cpu.py, docs/benchmarks.md).
        """
        pick = select(posts.c.id).where(cond).order_by(order).limit(limit)
        if not self.is_postgres:
            return posts.c.id.in_(pick.scalar_subquery())
        picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        return and_(posts.c.id.in_(select(picked.c.id)), cond)

    def _with_connections(self, conn: Connection, claims: list[Claim]) -> list[Claim]:
        """Attach each owner's LinkedIn connection, read in the claim's transaction (one query)."""
        if not claims:
            return claims
        rows = conn.execute(self._hot.connections, {"user_ids": sorted({c.user_id for c in claims})}).all()
        by_user = {row.user_id: row for row in rows}
        return [replace(c, connection=by_user.get(c.user_id)) for c in claims]

    # ------------------------------------------------------------------ user actions

    def create(self, *, user_id: int, content: str, image_url: str | None, now: datetime) -> str:
        with self._write() as conn:
            return self._insert_draft(conn, user_id=user_id, content=content, image_url=image_url, now=now)

    @staticmethod
    def _insert_draft(conn: Connection, *, user_id: int, content: str, image_url: str | None,
                      now: datetime) -> str:
        post_id = new_post_id()
        conn.execute(
            insert(posts).values(
                id=post_id, user_id=user_id, content=content, image_url=image_url,
                status=S.DRAFT, schedule_version=0, attempt_count=0,
                created_at=now, updated_at=now,
            )
        )
        return post_id

    def connection_expiry(self, *, user_id: int) -> tuple[bool, datetime | None]:
        """Whether the user has a LinkedIn connection, and when its token expires (None: unknown)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(linkedin_connections.c.expires_at).where(linkedin_connections.c.user_id == user_id)
            ).first()
        return (row is not None, row.expires_at if row is not None else None)

    def owner(self, *, user_id: int) -> _Row | None:
        """The user's LinkedIn connection (person_urn, access_token_encrypted, expires_at), or None."""
        with self.engine.connect() as conn:
            return conn.execute(self._hot.owner, {"user_id": user_id}).first()

    @staticmethod
    def _read(conn: Connection, *, post_id: str, user_id: int, action: Action) -> _Row:
        """The owner's post as `action` needs it, or NotFound; Conflict unless its status allows `action`."""
        row = conn.execute(
            select(posts.c.status, posts.c.schedule_version, posts.c.qstash_message_id, posts.c.content,
                   posts.c.image_url, posts.c.error_kind, posts.c.claimed_at)
            .where(posts.c.id == post_id, posts.c.user_id == user_id)
        ).first()
        if row is None:
            raise NotFound()
        if not allows(row.status, action, row.error_kind):
            raise Conflict(refusal(row.status, action, row.error_kind))
        return row

    def _guarded(self, *, post_id: str, user_id: int, action: Action,
                 build: Callable[[_Row], tuple[dict[str, Any] | None, T]],
                 also: Callable[[Connection, _Row], None] | None = None) -> T:
        """Read the post, refuse unless its status allows `action`, then write guarded on the status
        and version read; on a lost race, read again. `build(row)` returns (the values to SET, or
        None to delete the row; what to return); `also(conn, row)` writes more in the same
        transaction once the guarded write won."""
        for _ in range(_OPTIMISTIC_TRIES):
            with self._write() as conn:
                row = self._read(conn, post_id=post_id, user_id=user_id, action=action)
                values, result = build(row)
                unchanged = (posts.c.id == post_id, posts.c.user_id == user_id, posts.c.status == row.status,
                             posts.c.schedule_version == row.schedule_version)
                statement = (delete(posts).where(*unchanged) if values is None
                             else update(posts).where(*unchanged).values(**values))
                if conn.execute(statement).rowcount == 1:
                    if also is not None:
                        also(conn, row)
                    return result
        raise Conflict("The post changed while we were changing it; reload and try again.")

    def edit(self, *, post_id: str, user_id: int, now: datetime, **fields: Any) -> None:
        """Change content / image_url. Allowed until a dispatcher claims it; the latest content is sent."""
        self._guarded(post_id=post_id, user_id=user_id, action=A.EDIT,
                      build=lambda row: ({**fields, "updated_at": now}, None))

    def schedule(self, *, post_id: str, user_id: int, at: datetime, now: datetime,
                 action: Action = A.SCHEDULE) -> Change:
        """Schedule a draft, reschedule a scheduled post, or retry a failed one (`action`: SCHEDULE,
        PUBLISH_NOW or RETRY, each allowed in its own statuses): always a new version."""

        def build(row: _Row) -> tuple[dict[str, Any], Change]:
            version = row.schedule_version + 1
            values = {
                "status": LEADS_TO[action], "scheduled_at": at, "schedule_version": version,
                "next_attempt_at": None, "attempt_count": 0, "claimed_at": None,
                "qstash_message_id": None, "error_message": None, "error_kind": None,
                "updated_at": now,
            }
            return values, Change(post_id=post_id, user_id=user_id, version=version,
                                  old_message_id=row.qstash_message_id, scheduled_at=at)

        return self._guarded(post_id=post_id, user_id=user_id, action=action, build=build)

    def confirm_published(self, *, post_id: str, user_id: int, urn: str | None, now: datetime,
                          note: str) -> None:
        """failed (unconfirmed) -> published, on its owner's word: it is on LinkedIn. Its time is
        the claim n8n did not confirm (when it was published, if it was); an Attempt row (trigger
        "confirmed", outcome "published") says who confirmed it and when (`note`)."""

        def record(conn: Connection, row: _Row) -> None:
            conn.execute(insert(attempts).values(
                post_id=post_id, schedule_version=row.schedule_version, trigger="confirmed", started_at=now,
                finished_at=now, outcome="published", http_status=None, error=note, duration_ms=0))

        self._guarded(post_id=post_id, user_id=user_id, action=A.CONFIRM_PUBLISHED, also=record,
                      build=lambda row: ({
                          "status": LEADS_TO[A.CONFIRM_PUBLISHED], "published_at": row.claimed_at or now,
                          "linkedin_post_urn": urn, "error_message": None, "error_kind": None,
                          "next_attempt_at": None, "claimed_at": None, "updated_at": now,
                      }, None))

    def unschedule(self, *, post_id: str, user_id: int, now: datetime) -> Change:
        """Back to draft, with a new version so that no alarm made earlier can send it."""

        def build(row: _Row) -> tuple[dict[str, Any], Change]:
            version = row.schedule_version + 1
            values = {
                "status": LEADS_TO[A.UNSCHEDULE], "schedule_version": version, "next_attempt_at": None,
                "qstash_message_id": None, "claimed_at": None, "updated_at": now,
            }
            return values, Change(post_id=post_id, user_id=user_id, version=version,
                                  old_message_id=row.qstash_message_id)

        return self._guarded(post_id=post_id, user_id=user_id, action=A.UNSCHEDULE, build=build)

    def duplicate(self, *, post_id: str, user_id: int, now: datetime) -> str:
        """A new draft with the post's text and image; the post itself is left as it is."""
        with self._write() as conn:
            row = self._read(conn, post_id=post_id, user_id=user_id, action=A.DUPLICATE)
            return self._insert_draft(conn, user_id=user_id, content=row.content, image_url=row.image_url,
                                      now=now)

    def delete(self, *, post_id: str, user_id: int) -> Change:
        """Delete the post, in one guarded statement: a scheduled post's alarms then find nothing
        to claim, and one being sent is refused (its claim holds the row)."""
        return self._guarded(post_id=post_id, user_id=user_id, action=A.DELETE, build=lambda row: (
            None, Change(post_id=post_id, user_id=user_id, version=row.schedule_version,
                         old_message_id=row.qstash_message_id)))

    def set_message_id(self, *, post_id: str, version: int, message_id: str | None) -> bool:
        """Remember the alarm made for this version (ignored if the post moved on meanwhile)."""
        with self._write() as conn:
            return conn.execute(
                update(posts)
                .where(posts.c.id == post_id, posts.c.schedule_version == version,
                       posts.c.status == S.SCHEDULED)
                .values(qstash_message_id=message_id)
            ).rowcount == 1

    # ------------------------------------------------------------------ dispatcher moves

    def claim(self, *, post_id: str, version: int, now: datetime) -> Claim | None:
        """scheduled -> publishing, only if due, past its backoff, and still this version."""
        claims = self._claimed("claim", lambda: self._hot.claim, {"post_id": post_id, "version": version, "now": now})
        return claims[0] if claims else None

    def claim_due(self, *, now: datetime, limit: int, not_before: datetime | None = None) -> list[Claim]:
        """Claim up to `limit` due posts in one statement, soonest first (see _batch).
        Posts due before `not_before` (too late) are left for the sweep to fail as missed."""
        claims = self._claimed("claim_due", lambda: self._hot.claim_due,
                               {"now": now, "not_before": not_before or _EPOCH, "limit": limit})
        return sorted(claims, key=lambda c: c.scheduled_at)

    def _claimed(self, key: str, build: Callable[[], Update], params: dict[str, Any]) -> list[Claim]:
        """Run a claim statement (its RETURNING lists _CLAIM_COLUMNS) and read, in the same
        transaction, each owner's LinkedIn connection."""
        statement = self._direct.compiled(key, build)
        owner = self._direct.compiled("owner", lambda: self._hot.owner)
        instant = self._direct.instant

        def work(execute: Callable[[_Compiled, dict[str, Any]], Any]) -> list[Claim]:
            rows = execute(statement, params).fetchall()
            owners = {}
            for user_id in sorted({row[1] for row in rows}):
                found = execute(owner, {"user_id": user_id}).fetchone()
                if found is not None:
                    owners[user_id] = _Owner(found[0], found[1], None if found[2] is None else instant(found[2]))
            return [Claim(post_id=r[0], user_id=r[1], version=r[2], attempt=r[3], content=r[4], image_url=r[5],
                          scheduled_at=instant(r[6]), claimed_at=instant(r[7]), connection=owners.get(r[1]))
                    for r in rows]

        return self._direct.run(work)

    def reclaim_stale(self, *, now: datetime, lease: float, limit: int) -> list[Claim]:
        """publishing -> publishing for claims older than the lease (the claimer died): crash recovery."""
        cond = and_(posts.c.status == source(M.RECLAIM), posts.c.claimed_at < now - timedelta(seconds=lease))
        with self._write() as conn:
            rows = conn.execute(
                update(posts)
                .where(self._batch(cond, posts.c.claimed_at, limit))
                .values(claimed_at=now, attempt_count=posts.c.attempt_count + 1, updated_at=now)
                .returning(*_CLAIM_COLUMNS)
            ).all()
            return self._with_connections(conn, [_claim_from(r, reclaimed=True) for r in rows])

    def fence(self, claim: Claim, *, now: datetime) -> bool:
        """publishing -> publishing, only while `claim` is the current claim (same post, version and
        attempt): restarts its lease. Made right before every webhook call, and while an outcome
        waits to be written. False: the claim was taken over (or the post moved on): do not send."""
        fence = self._direct.compiled("fence", lambda: self._hot.fence)
        return bool(self._direct.run(lambda execute: execute(fence, {
            "b_post_id": claim.post_id, "b_from": source(M.FENCE), "b_version": claim.version,
            "b_attempt": claim.attempt, "now": now}).rowcount == 1))

    def miss_overdue(self, *, now: datetime, cutoff: datetime, message: str, limit: int = 500) -> list[str]:
        """scheduled -> failed (missed) for posts due before `cutoff`: too late to be useful, never sent."""
        cond = and_(posts.c.status == source(M.MISS), posts.c.scheduled_at < cutoff)
        with self._write() as conn:
            rows = conn.execute(
                update(posts)
                .where(self._batch(cond, posts.c.scheduled_at, limit))
                .values(status=target(M.MISS), error_kind="missed", next_attempt_at=None, updated_at=now,
                        error_message=message)
                .returning(posts.c.id)
            ).all()
        return [r.id for r in rows]

    def _finish(self, claim: Claim, record: AttemptRecord, move: Move, values: dict[str, Any], *,
                this_claim_only: bool) -> bool:
        """Make `move` with one outcome of a try and write its Attempt row, in one transaction."""
        statement = self._hot.finish_this_claim if this_claim_only else self._hot.finish_any_claim
        move_values = {"status": target(move), **values, "updated_at": record.finished_at}
        columns = tuple(move_values)
        move_sql = self._direct.compiled((this_claim_only, columns), lambda: statement.values(
            {posts.c[name]: bindparam(name, type_=posts.c[name].type) for name in columns}))
        attempt = {"post_id": claim.post_id, "schedule_version": claim.version, "trigger": record.trigger,
                   "started_at": record.started_at, "finished_at": record.finished_at,
                   "outcome": record.outcome, "http_status": record.http_status,
                   "duration_ms": record.duration_ms, "error": record.error}
        attempt_sql = self._direct.compiled("attempt", lambda: self._hot.record_attempt.values(
            {attempts.c[name]: bindparam(name, type_=attempts.c[name].type) for name in attempt}))
        guard = {"b_post_id": claim.post_id, "b_from": source(move), "b_version": claim.version,
                 "b_attempt": claim.attempt}

        def write(execute: Callable[[_Compiled, dict[str, Any]], Any]) -> bool:
            won = bool(execute(move_sql, {**guard, **move_values}).rowcount == 1)
            note = None if won else "(Not applied to the post: another dispatcher had taken it over.)"
            execute(attempt_sql, {**attempt, "error": " ".join(filter(None, (record.error, note))) or None})
            return won

        return self._direct.run(write)

    def confirm(self, claim: Claim, record: AttemptRecord, *, urn: str | None) -> bool:
        """publishing -> published. Any try of this version may confirm: a 2xx is the truth."""
        return self._finish(claim, record, M.CONFIRM, {
            "published_at": record.finished_at, "linkedin_post_urn": urn,
            "error_message": None, "error_kind": None, "next_attempt_at": None,
        }, this_claim_only=False)

    def fail(self, claim: Claim, record: AttemptRecord, *, kind: str, message: str) -> bool:
        """publishing -> failed, only by the current claim (attempt is the fencing token)."""
        return self._finish(claim, record, M.FAIL, {
            "error_kind": kind, "error_message": message, "next_attempt_at": None,
        }, this_claim_only=True)

    def retry_later(self, claim: Claim, record: AttemptRecord, *, at: datetime, message: str) -> bool:
        """publishing -> scheduled (same version) with a backoff; only by the current claim."""
        return self._finish(claim, record, M.RETRY_LATER, {
            "next_attempt_at": at, "error_message": message,
            "error_kind": "retrying", "claimed_at": None,
        }, this_claim_only=True)

    # ------------------------------------------------------------------ reads for the dispatcher

    def next_due_at(self, *, not_before: datetime | None = None) -> datetime | None:
        """The earliest instant at which some scheduled post becomes claimable.

        Two ordered LIMIT 1 probes — posts never tried, by (status, scheduled_at); posts in
        backoff, by (status, next_attempt_at) — instead of min(coalesce(...)), which has to read
        every scheduled row (32 ms for 10,000 upcoming posts, on every wake-up of the loop).
        Posts due before `not_before` (too late: the sweep fails them) are ignored, so a
        dispatcher never wakes up for a post it will not claim.
        """
        params = {"not_before": not_before or _EPOCH}
        with self.engine.connect() as conn:
            candidates = (conn.execute(self._hot.next_fresh, params).scalar(),
                          conn.execute(self._hot.next_backoff, params).scalar())
        return min((c for c in candidates if c is not None), default=None)

    def missing_alarms(self, *, until: datetime, limit: int) -> list[Change]:
        """Scheduled posts due by `until` that have no QStash message (the publish failed, or the
        post was beyond the horizon when scheduled), soonest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(posts.c.id, posts.c.user_id, posts.c.schedule_version, posts.c.scheduled_at)
                .where(posts.c.status == S.SCHEDULED, posts.c.qstash_message_id.is_(None),
                       posts.c.scheduled_at <= until)
                .order_by(posts.c.scheduled_at, posts.c.id)
                .limit(limit)
            ).all()
        return [Change(post_id=r.id, user_id=r.user_id, version=r.schedule_version, old_message_id=None,
                       scheduled_at=r.scheduled_at) for r in rows]

    def beat(self, *, name: str, started_at: datetime, now: datetime) -> None:
        """Record that the dispatcher `name` is alive."""
        with self._write() as conn:
            changed = conn.execute(
                update(heartbeats).where(heartbeats.c.name == name).values(beat_at=now)
            ).rowcount
            if not changed:
                conn.execute(insert(heartbeats).values(name=name, started_at=started_at, beat_at=now))

    def save_check(self, *, user_id: int, checked_at: datetime, passed: bool, demo: bool, steps: str) -> None:
        """Keep a user's last pipeline check (dispatch/check.py), replacing the one before."""
        with self._write() as conn:
            conn.execute(delete(pipeline_checks).where(pipeline_checks.c.user_id == user_id))
            conn.execute(insert(pipeline_checks).values(user_id=user_id, checked_at=checked_at, passed=passed,
                                                        demo=demo, steps=steps))

    def last_check(self, *, user_id: int | None = None) -> _Row | None:
        """A user's last pipeline check (checked_at, passed, demo, steps); with no user, the latest
        of anyone's (/healthz)."""
        query = select(pipeline_checks.c.checked_at, pipeline_checks.c.passed, pipeline_checks.c.demo,
                       pipeline_checks.c.steps)
        if user_id is not None:
            query = query.where(pipeline_checks.c.user_id == user_id)
        with self.engine.connect() as conn:
            return conn.execute(query.order_by(pipeline_checks.c.checked_at.desc()).limit(1)).first()

    def forget_heartbeat(self, *, name: str) -> None:
        with self._write() as conn:
            conn.execute(delete(heartbeats).where(heartbeats.c.name == name))

    def health(self, *, now: datetime) -> dict[str, Any]:
        """Figures for /healthz: the freshest heartbeat, and the posts that are overdue."""
        due = _due(now)
        with self.engine.connect() as conn:
            beat = conn.execute(select(func.max(heartbeats.c.beat_at))).scalar()
            overdue, oldest = conn.execute(
                select(func.count(), func.min(posts.c.scheduled_at)).where(due)
            ).one()
            stuck = conn.execute(
                select(func.count()).where(posts.c.status == S.PUBLISHING)
            ).scalar()
        return {"heartbeat_at": beat, "overdue": overdue, "oldest_due_at": oldest, "publishing": stuck}

    def database_time(self) -> datetime:
        """The database server's clock, now (SQLite: this machine's clock, read by SQLite)."""
        query = ("SELECT clock_timestamp()" if self.is_postgres
                 else "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
        with self.engine.connect() as conn:
            value = conn.exec_driver_sql(query).scalar()
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"the database said the time is {value!r}")
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def explain(self, *, post_id: str, version: int, now: datetime) -> tuple[str, datetime | None]:
        """Why a claim of (post_id, version) did not win: (reason, when it becomes due if early)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(posts.c.status, posts.c.schedule_version, posts.c.scheduled_at,
                       posts.c.next_attempt_at).where(posts.c.id == post_id)
            ).first()
        if row is None:
            return "not_found", None
        if row.schedule_version != version:
            return ("stale_version" if row.schedule_version > version else "unknown_version"), None
        status = S(row.status)
        if status == S.DRAFT:
            return "cancelled", None
        if status == S.PUBLISHED:
            return "already_sent", None
        if status == S.PUBLISHING:
            return "in_progress", None
        if status == S.FAILED:
            return "already_failed", None
        due = due_at(scheduled_at=row.scheduled_at, next_attempt_at=row.next_attempt_at)
        if due is not None and due > now:
            return ("early" if row.next_attempt_at is None else "backoff"), due
        return "lost_race", None

