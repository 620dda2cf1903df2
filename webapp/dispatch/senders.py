"""A bounded pool of sending threads, with reservations: a slot is reserved *before* a post is
claimed and the send starts on it at once, so a claim never waits in a queue while its lease runs
out. Every path that claims posts (the local loop, its sweep, `flask recover`, the recover
endpoint) claims through `Dispatcher.fill`, which asks this pool how many it may take.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger("punctual.dispatch")


class SendPool:
    """Up to `size` daemon threads, started as they are needed. Daemon threads: a send stuck in a
    webhook call can never keep the process from exiting (its claim is recovered after the lease).

    `reserve` → claim → `start` one job per claim → `release` what was not used."""

    def __init__(self, size: int, *, on_free: Callable[[], None] | None = None, name: str = "punctual-send"):
        self.size = max(1, size)
        self.name = name
        self._on_free = on_free
        self._lock = threading.Lock()
        self._has_job = threading.Condition(self._lock)
        self._slot_freed = threading.Condition(self._lock)
        self._jobs: deque[Callable[[], object]] = deque()
        self._busy = 0  # reserved or running
        self._idle = 0  # threads waiting for a job
        self._threads: list[threading.Thread] = []
        self._closed = False

    # -------------------------------------------------------------- slots

    def free(self) -> int:
        with self._lock:
            return self.size - self._busy

    def reserve(self, limit: int | None = None) -> int:
        """Reserve up to `limit` free slots (all free ones by default); how many were reserved."""
        with self._lock:
            count = max(0, min(self.size - self._busy, self.size if limit is None else limit))
            self._busy += count
            return count

    def release(self, count: int) -> None:
        """Give back reserved slots that were not used (no `on_free`: nothing finished)."""
        if count <= 0:
            return
        with self._lock:
            self._busy -= count
            self._slot_freed.notify_all()

    def start(self, job: Callable[[], object]) -> None:
        """Run `job` on a reserved slot, now."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the send pool is closed")
            self._jobs.append(job)
            if self._idle:
                self._has_job.notify()
            elif len(self._threads) < self.size:
                thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            # else: a thread that has just released its slot picks the job up as it loops back

    def wait_free(self, timeout: float | None = None) -> bool:
        """Wait until at least one slot is free; False if `timeout` ran out first."""
        with self._lock:
            return self._slot_freed.wait_for(lambda: self._busy < self.size, timeout)

    def gather(self, want: int, linger: float) -> int:
        """With at least one slot free but fewer than `want`, wait up to `linger` seconds for more
        to free up; how many are free. Claiming several posts in one statement costs far less CPU
        than claiming them one by one (bench/cpu.py), and only a backlog ever waits: an idle pool
        has every slot free."""
        with self._lock:
            if 0 < self.size - self._busy < want and linger > 0:
                self._slot_freed.wait_for(lambda: self.size - self._busy >= want, linger)
            return self.size - self._busy

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is reserved or running; False if `timeout` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._slot_freed.wait(left)
        return True

    def close(self) -> None:
        """Let the threads end once the jobs already started are done."""
        with self._lock:
            self._closed = True
            self._has_job.notify_all()

    def __enter__(self) -> SendPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- threads

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._jobs and not self._closed:
                    self._idle += 1
                    self._has_job.wait()
                    self._idle -= 1
                if not self._jobs:
                    return
                job = self._jobs.popleft()
            try:
                job()
            except Exception:  # never lose a sending thread (Dispatcher.send does not raise)
                log.exception("a send failed unexpectedly")
            finally:
                self.release(1)
                if self._on_free is not None:
                    self._on_free()  # a sender is free again: the loop may claim for it
