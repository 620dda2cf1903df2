"""The built-in local dispatcher: sleeps exactly until the next due post, claims what is due (as
many posts as it has free senders, never more), sweeps periodically, and keeps going whatever
happens.

Any number of these may run at once (threads in web processes, `flask worker` processes): the
claim decides who sends, and the fence before each call keeps a taken-over claim from sending.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime

from ..dispatcher import Dispatcher
from ..senders import SendPool

log = logging.getLogger("punctual.dispatcher")

#: Longest sleep without re-reading the next due time (schedules made by other processes).
IDLE_POLL = 1.0
HEARTBEAT_EVERY = 5.0


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
        """Publish now: claim and send this post version on a free sending thread right away;
        with none free, the loop claims it (it is due) as soon as a sender is."""
        if self._pool.reserve(1):
            self._pool.start(lambda: self.dispatcher.dispatch_one(post_id, version, trigger))
        else:
            self.wake()

    def request_stop(self) -> None:
        """Stop claiming; the loop returns at once (safe from any thread, not from a signal handler:
        see runtime.run_worker)."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop claiming, let in-flight sends finish (bounded). True if all finished."""
        self.request_stop()
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
        """Claim what is due (as many as there are free senders); return how long to sleep."""
        claimed, more = self.dispatcher.fill(self._pool, self.dispatcher.due, "local")
        if more:
            return 0.0 if claimed else IDLE_POLL  # no free sender: a finishing send wakes us
        next_due = self.store.next_due_at(not_before=self.dispatcher.cutoff(self.clock()))
        if next_due is None:
            return IDLE_POLL
        delta = (next_due - self.clock()).total_seconds()
        if delta <= 0:
            # due but not claimable by us (another dispatcher has it): do not spin
            return 0.0 if claimed else 0.005
        return min(delta, IDLE_POLL)

    def _sweep(self) -> None:
        """The safety net, inside the loop: fail too-late posts, and take over stuck claims with
        the same free senders (missed due posts need no step here: the loop claims them)."""
        failed = self.dispatcher.fail_missed(self.clock())
        taken, _ = self.dispatcher.fill(self._pool, self.dispatcher.stale, "sweep")
        if failed or taken:
            log.info("sweep: %d failed as too late, %d stuck claims taken over", failed, taken)
