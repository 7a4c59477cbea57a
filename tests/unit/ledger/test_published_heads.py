"""``PublishedHeads.feed_hashes`` skips the entries no head names and reports what feeding each
entry reports.

Goal: ``verify`` holds every published head against the chain; the bulk path no longer calls
``feed_head`` for an entry before the next head's sequence (nothing can be reported there).
The problems (head mismatches, heads out of order, heads naming no entry, the genesis head
with a hash, heads past the end) and the count of heads checked must not change.

Method: hypothesis builds chains with gaps and heads in any order, right or wrong, the genesis
head among them; the reference feeds every entry to ``feed_head``, the bulk path feeds batches
of any size; then both finish.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zeropools.domain.ledger import GENESIS_HASH
from zeropools.domain.verify import Problem, PublishedHead, PublishedHeads

PARTNER = "partner_x"


def _hash(sequence: int) -> str:
    return GENESIS_HASH if sequence == 0 else f"h{sequence}"


@given(
    length=st.integers(0, 30),
    gaps=st.sets(st.integers(1, 30), max_size=5),
    heads=st.lists(st.tuples(st.integers(0, 33), st.booleans()), max_size=25),
    batch=st.integers(1, 8),
)
def test_skipping_reports_what_feeding_every_entry_reports(
    length: int, gaps: set[int], heads: list[tuple[int, bool]], batch: int
) -> None:
    chain = [(s, _hash(s)) for s in range(1, length + 1) if s not in gaps]
    published = [
        PublishedHead(f"evt_{n}", sequence, _hash(sequence) if right else "wrong")
        for n, (sequence, right) in enumerate(heads)
    ]

    reference = PublishedHeads(PARTNER, iter(published))
    expected: list[Problem] = []
    for sequence, entry_hash in chain:
        expected += reference.feed_head(sequence, entry_hash)
    expected += reference.finish()

    bulk = PublishedHeads(PARTNER, iter(published))
    found: list[Problem] = []
    for start in range(0, len(chain), batch):
        found += bulk.feed_hashes(chain[start : start + batch])
    found += bulk.finish()

    assert found == expected
    assert bulk.checked == reference.checked == len(published)
