"""Ids: ULID bodies (Crockford base32 of 48 bits of milliseconds and 80 random bits) that sort
in creation order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zeropools.domain import ids


def _digit_by_digit(now_ms: int, random_bits: int) -> str:
    """The ULID spec's encoding written the plain way: 26 digits of 5 bits, most significant
    first."""
    value = (now_ms << 80) | random_bits
    return "".join(ids._CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


@given(st.integers(0, 2**48 - 1), st.integers(0, 2**80 - 1))
def test_the_body_is_the_specs_base32_of_time_and_randomness(now_ms: int, bits: int) -> None:
    assert ids._ulid(now_ms, bits) == _digit_by_digit(now_ms, bits)


def test_the_time_part_matches_the_specs_example() -> None:
    # github.com/ulid/spec: ulid(1469918176385) begins 01ARYZ6S41
    assert ids._ulid(1469918176385, 0)[:10] == "01ARYZ6S41"
    assert ids._ulid(2**48 - 1, 2**80 - 1) == "7" + "Z" * 25


@given(st.lists(st.integers(0, 2**48 - 1), min_size=2, max_size=20))
def test_ids_sort_as_their_times(times: list[int]) -> None:
    made = [ids.new_id(ids.REQUEST, now_ms=ms) for ms in times]
    by_id = sorted(range(len(times)), key=lambda i: made[i])
    assert [times[i] for i in by_id] == sorted(times)


def test_ids_made_in_one_millisecond_count_up() -> None:
    made = [ids.new_id(ids.LEDGER_ENTRY) for _ in range(1000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
