"""The pay-in state machine: which step may take a pay-in from which status to which.

Goal: no pay-in can take a step the table does not list, every step the service takes today is
listed, and a refusal answers with the API's code, words and ``from_status``/``to_status``
(409 ``invalid_transition``), so moving the checks into the domain changed nothing a caller sees.

Method: the allowed (from, step, to) triples are written out here independently of
``TRANSITIONS``; then every (from, to) pair of statuses is walked with every step that leads to
``to``, allowed and forbidden, and the refusals' words are compared with what the API said
before the table existed.
"""

from __future__ import annotations

import itertools

import pytest

from zeropools.domain.errors import InvalidTransition
from zeropools.domain.payins import (
    ATTRIBUTE,
    CREDIT,
    CREDITED,
    FLAG,
    INITIAL_STATUS,
    NEEDS_REVIEW,
    PARK,
    PENDING_CONFIRMATION,
    RETURN,
    RETURNED,
    STATUSES,
    STEP_TARGETS,
    STEPS,
    TRANSITIONS,
    check_transition,
)

# Written out independently of TRANSITIONS so a wrong edit to the table fails here.
ALLOWED = {
    (PENDING_CONFIRMATION, CREDIT, CREDITED),  # booked, reference names the partner
    (PENDING_CONFIRMATION, PARK, NEEDS_REVIEW),  # booked, nobody named: into suspense
    (PENDING_CONFIRMATION, RETURN, RETURNED),  # returned before the bank booked it
    (NEEDS_REVIEW, ATTRIBUTE, CREDITED),  # the operator names the partner
    (NEEDS_REVIEW, RETURN, RETURNED),  # the operator sends it back out of suspense
    (CREDITED, RETURN, RETURNED),  # a bank recall: payin_reversal
    (CREDITED, FLAG, CREDITED),  # a recall refused because the money was spent
}
ALL_STATUSES = sorted({PENDING_CONFIRMATION, CREDITED, NEEDS_REVIEW, RETURNED})


def test_the_table_knows_exactly_the_four_statuses_and_five_steps() -> None:
    assert sorted(STATUSES) == ALL_STATUSES
    assert set(TRANSITIONS) == set(ALL_STATUSES)
    assert set(STEPS) == {CREDIT, PARK, ATTRIBUTE, RETURN, FLAG}
    assert INITIAL_STATUS == PENDING_CONFIRMATION


def test_the_table_lists_exactly_the_allowed_steps() -> None:
    listed = {(status, step, to) for status, row in TRANSITIONS.items() for step, to in row.items()}
    assert listed == ALLOWED


@pytest.mark.parametrize(
    ("from_status", "to_status"), list(itertools.product(ALL_STATUSES, repeat=2))
)
def test_every_status_pair_is_reachable_only_by_the_steps_the_table_lists(
    from_status: str, to_status: str
) -> None:
    leading_there = [step for step in STEPS if STEP_TARGETS[step] == to_status]
    for step in leading_there:
        if (from_status, step, to_status) in ALLOWED:
            assert check_transition(from_status, step) == to_status
            continue
        with pytest.raises(InvalidTransition) as refused:
            check_transition(from_status, step)
        assert refused.value.code == "invalid_transition"
        assert refused.value.extra == {"from_status": from_status, "to_status": to_status}
    pair_allowed = any((from_status, step, to_status) in ALLOWED for step in STEPS)
    assert pair_allowed == any(
        to_status == TRANSITIONS[from_status].get(step) for step in leading_there
    )


def test_no_step_leads_back_to_pending_confirmation() -> None:
    assert PENDING_CONFIRMATION not in STEP_TARGETS.values()
    for status in ALL_STATUSES:
        assert PENDING_CONFIRMATION not in TRANSITIONS[status].values()


def test_a_returned_payin_never_changes_again() -> None:
    assert dict(TRANSITIONS[RETURNED]) == {}
    for step in STEPS:
        with pytest.raises(InvalidTransition):
            check_transition(RETURNED, step)


def test_each_step_leads_to_one_status_wherever_it_is_allowed() -> None:
    for status, row in TRANSITIONS.items():
        for step, to in row.items():
            assert STEP_TARGETS[step] == to, (status, step)


@pytest.mark.parametrize("status", [PENDING_CONFIRMATION, CREDITED, RETURNED])
def test_attributing_anything_but_a_review_payin_is_refused_in_the_apis_words(
    status: str,
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_transition(status, ATTRIBUTE)
    assert refused.value.detail == (
        f"Only pay-ins in needs_review can be attributed; this one is {status}."
    )
    assert refused.value.extra == {"from_status": status, "to_status": CREDITED}


def test_returning_a_returned_payin_is_refused_in_the_apis_words() -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_transition(RETURNED, RETURN)
    assert refused.value.detail == "This pay-in was already returned."
    assert refused.value.extra == {"from_status": RETURNED, "to_status": RETURNED}


@pytest.mark.parametrize("status", [PENDING_CONFIRMATION, NEEDS_REVIEW, CREDITED])
def test_every_payin_not_yet_returned_can_be_returned(status: str) -> None:
    assert check_transition(status, RETURN) == RETURNED


@pytest.mark.parametrize("status", [PENDING_CONFIRMATION, NEEDS_REVIEW, RETURNED])
def test_only_a_credited_payin_can_be_flagged(status: str) -> None:
    assert check_transition(CREDITED, FLAG) == CREDITED
    with pytest.raises(InvalidTransition, match="Only credited pay-ins"):
        check_transition(status, FLAG)


@pytest.mark.parametrize("step", [CREDIT, PARK])
@pytest.mark.parametrize("status", [NEEDS_REVIEW, CREDITED, RETURNED])
def test_only_a_pending_payin_is_booked(step: str, status: str) -> None:
    with pytest.raises(InvalidTransition, match="Only pay-ins pending confirmation"):
        check_transition(status, step)
