"""The built-in local dispatcher: sleeps exactly until the next due post, claims what is due,
sends with bounded concurrency, sweeps periodically, and keeps going whatever happens.

Any number of these may run at once (threads in web processes, `flask worker` processes): the
claim decides who sends.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from datetime import datetime
from typing import Callable

from ..dispatcher import Dispatcher
from ..store import Claim

log = logging.getLogger("punctual.dispatcher")

#: Longest sleep without re-reading the next due time (schedules made by other processes).
IDLE_POLL = 1.0
HEARTBEAT_EVERY = 5.0


class SendPool:
    """N daemon threads sending claimed posts. Daemon threads: a send stuck in a webhook call
    can never keep the process from exiting (its claim is recovered after the lease)."""

    def __init__(self, size: int, on_free: Callable[[], None]):
        self.size = size
        self._queue: queue.Queue = queue.Queue()
        self._busy = 0
        self._lock = threading.Condition()
        self._on_free = on_free
        self._threads = [threading.Thread(target=self._work, name=f"punctual-send-{i}", daemon=True)
                         for i in range(size)]
        for thread in self._threads:
            thread.start()

    def free(self) -> int:
        with self._lock:
            return self.size - self._busy

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._busy += 1
        self._queue.put(job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except Exception:  # never lose a sending thread
                log.exception("a send failed unexpectedly")
            finally:
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()
                self._on_free()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is in flight; False if the timeout ran out first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)


class LocalDispatcher:
    def __init__(self, dispatcher: Dispatcher, *, sweep_interval: float, drain_timeout: float,
                 name: str | None = None):
        self.dispatcher = dispatcher
        self.store = dispatcher.store
        self.clock = dispatcher.clock
        self.sweep_interval = sweep_interval
        self.drain_timeout = drain_timeout
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self) & 0xffff:04x}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = SendPool(dispatcher.settings.concurrency, on_free=self._wake.set)
        self._thread: threading.Thread | None = None
        self.started_at: datetime | None = None
        self.loops = 0  # for tests and benchmarks: how often the loop ran

    # ------------------------------------------------------------------ control

    def start(self) -> "LocalDispatcher":
        """Run the loop in a daemon thread (inside a web process)."""
        self._thread = threading.Thread(target=self.run, name="punctual-dispatcher", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def submit_one(self, post_id: str, version: int, trigger: str) -> None:
        """Publish now: claim and send this post version on a sending thread right away."""
        self._pool.submit(lambda: self.dispatcher.dispatch_one(post_id, version, trigger))

    def stop(self, timeout: float | None = None) -> bool:
        """Stop claiming, let in-flight sends finish (bounded). True if all finished."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        drained = self._pool.wait_idle(self.drain_timeout if timeout is None else timeout)
        self._pool.close()
        if not drained:
            log.warning("stopping with sends still in flight; their claims will be recovered after the lease")
        try:
            self.store.forget_heartbeat(name=self.name)
        except Exception:
            log.warning("could not remove the heartbeat of %s", self.name)
        return drained

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        """Loop until stop(): claim due posts, sleep until the next one, sweep, beat."""
        self.started_at = self.clock()
        log.info("local dispatcher %s started (concurrency %d, sweep every %g s)",
                 self.name, self._pool.size, self.sweep_interval)
        next_sweep = time.monotonic()  # sweep at start: recover what a crash left behind
        next_beat = 0.0
        failures = 0
        while not self._stop.is_set():
            self.loops += 1
            self._wake.clear()
            try:
                if time.monotonic() >= next_sweep:
                    self._sweep()
                    next_sweep = time.monotonic() + self.sweep_interval
                if time.monotonic() >= next_beat:
                    self.store.beat(name=self.name, started_at=self.started_at, now=self.clock())
                    next_beat = time.monotonic() + HEARTBEAT_EVERY
                sleep = self._claim_and_submit()
            except Exception as exc:
                failures += 1
                delay = min(30.0, 0.25 * 2 ** min(failures, 7))
                log.warning("dispatcher cannot reach the database (%s); retrying in %.1f s",
                            type(exc).__name__, delay)
                self._stop.wait(delay)
                continue
            if failures:
                log.info("dispatcher reconnected to the database after %d failed tries", failures)
                failures = 0
            if sleep > 0:
                self._wake.wait(sleep)
        log.info("local dispatcher %s stopped", self.name)

    def _claim_and_submit(self) -> float:
        """Claim what is due (up to the free sending slots); return how long to sleep."""
        free = self._pool.free()
        if free <= 0:
            return IDLE_POLL  # a finishing send sets the wake event
        now = self.clock()
        cutoff = self.dispatcher.cutoff(now)
        claims = self.store.claim_due(now=now, limit=free, not_before=cutoff)
        for claim in claims:
            self._pool.submit(self._sender(claim))
        if len(claims) == free:
            return 0.0  # there may be more due right now
        next_due = self.store.next_due_at(not_before=cutoff)
        if next_due is None:
            return IDLE_POLL
        delta = (next_due - self.clock()).total_seconds()
        if delta <= 0:
            # due but not claimable by us (another dispatcher has it): do not spin
            return 0.0 if claims else 0.005
        return min(delta, IDLE_POLL)

    def _sender(self, claim: Claim, trigger: str = "local") -> Callable[[], None]:
        return lambda: self.dispatcher.send(claim, trigger)

    def _sweep(self) -> None:
        """The safety net, inside the loop: fail too-late posts, and resend stuck claims through
        the same bounded pool (never more claims than free slots: a claim must not wait in a
        queue while its lease runs out). Missed due posts need no step here: the loop claims them."""
        now = self.clock()
        failed = self.dispatcher.fail_missed(now)
        resend, failed_stale = self.dispatcher.reclaim_stale(now, limit=self._pool.free())
        for claim in resend:
            self._pool.submit(self._sender(claim, "sweep"))
        if failed or failed_stale or resend:
            log.info("sweep: %d failed as too late, %d stuck claims resent, %d failed as unconfirmed",
                     failed, len(resend), failed_stale)
