"""The transition table: every allowed move, and every forbidden one."""

import itertools

import pytest

from webapp.dispatch.states import TRANSITIONS, PostStatus, can_move, sources_of

S = PostStatus

ALLOWED = {
    # from          to              action
    (S.DRAFT,       S.SCHEDULED):  "schedule",
    (S.SCHEDULED,   S.SCHEDULED):  "reschedule",
    (S.SCHEDULED,   S.DRAFT):      "unschedule",
    (S.SCHEDULED,   S.PUBLISHING): "claim",
    (S.SCHEDULED,   S.FAILED):     "miss",
    (S.PUBLISHING,  S.PUBLISHED):  "confirm",
    (S.PUBLISHING,  S.SCHEDULED):  "retry_later",
    (S.PUBLISHING,  S.FAILED):     "fail",
    (S.PUBLISHING,  S.PUBLISHING): "reclaim",
    (S.FAILED,      S.SCHEDULED):  "retry",
    (S.FAILED,      S.DRAFT):      "unschedule",
}


def test_the_table_is_exactly_the_designed_one():
    assert TRANSITIONS == ALLOWED


@pytest.mark.parametrize("src, dst", list(itertools.product(S, S)))
def test_every_pair_is_allowed_or_forbidden_as_designed(src, dst):
    assert can_move(src, dst) == ((src, dst) in ALLOWED)


@pytest.mark.parametrize("final", [S.PUBLISHED])
def test_published_is_terminal(final):
    assert not any(can_move(final, dst) for dst in S)


def test_nothing_but_a_claim_reaches_publishing_from_scheduled():
    assert [src for src in S if can_move(src, S.PUBLISHING)] == [S.SCHEDULED, S.PUBLISHING]
    assert sources_of("claim") == {S.SCHEDULED}


def test_a_draft_is_never_sent_directly():
    assert not can_move(S.DRAFT, S.PUBLISHING) and not can_move(S.DRAFT, S.PUBLISHED)
