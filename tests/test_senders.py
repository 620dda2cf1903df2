"""The send pool's slots: `gather` lets a backlog claim a few posts per statement, and never makes
an idle pool (or a post with a free sender once `linger` is over) wait."""

import threading

from webapp.dispatch.senders import SendPool

NEVER = 60.0  # a linger no test may wait out


def in_thread(call):
    """Run `call` on a thread; (its result, whether it returned within 10 s)."""
    box = []
    thread = threading.Thread(target=lambda: box.append(call()), daemon=True)
    thread.start()
    thread.join(10)
    return (box[0] if box else None), not thread.is_alive()


def test_an_idle_pool_gathers_at_once():
    pool = SendPool(4)
    assert in_thread(lambda: pool.gather(2, NEVER)) == (4, True)


def test_a_full_pool_gathers_nothing_and_does_not_wait():
    pool = SendPool(4)
    pool.reserve()
    assert in_thread(lambda: pool.gather(2, NEVER)) == (0, True)


def test_a_backlog_waits_for_more_senders_and_returns_as_soon_as_they_are_free():
    pool = SendPool(4)
    pool.reserve(3)
    threading.Timer(0.2, pool.release, args=(2,)).start()
    assert in_thread(lambda: pool.gather(3, NEVER)) == (3, True)


def test_a_backlog_claims_with_the_senders_it_has_once_the_linger_is_over():
    pool = SendPool(4)
    pool.reserve(3)
    assert in_thread(lambda: pool.gather(3, 0.05)) == (1, True)
