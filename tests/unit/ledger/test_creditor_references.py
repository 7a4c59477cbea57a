"""ISO 11649 creditor references: the key that attributes a bank transfer to a partner.

Goal: every reference we hand out is a valid, unique RF reference that survives a human
retyping it (spaces, lowercase), and a single mistyped character never attributes money.

Method: draw many references and check validity (with our checker and python-stdnum's) and
uniqueness; normalize printed/lowercase forms back; substitute every character of a reference
with every other character of the same class and check that none of the results is valid.
"""

from __future__ import annotations

import string

from stdnum import iso11649

from zeropools.domain import references

DRAWS = 2000


def test_new_references_are_valid_iso_11649_references() -> None:
    for _ in range(200):
        reference = references.new_creditor_reference()
        assert reference.startswith("RF")
        assert reference[2:4].isdigit()
        assert len(reference) <= 25
        assert references.is_valid(reference)
        assert iso11649.is_valid(reference)
        assert references.normalize(reference) == reference


def test_new_references_are_unique_over_many_draws() -> None:
    drawn = {references.new_creditor_reference() for _ in range(DRAWS)}
    assert len(drawn) == DRAWS


def test_new_references_avoid_characters_humans_confuse() -> None:
    for _ in range(200):
        body = references.new_creditor_reference()[4:]
        assert not set(body) & set("01OIL")


def test_normalize_ignores_spaces_and_case() -> None:
    reference = references.new_creditor_reference()
    printed = references.format_printed(reference)
    assert " " in printed
    for typed in (printed, printed.lower(), f"  {reference.lower()} ", printed.replace(" ", "\t")):
        assert references.normalize(typed) == reference
        assert references.is_valid(typed)


def test_a_one_character_typo_fails_the_check_digits() -> None:
    alphabet_by_class = (string.digits, string.ascii_uppercase)
    for _ in range(20):
        reference = references.new_creditor_reference()
        for position in range(2, len(reference)):  # "RF" itself is fixed
            original = reference[position]
            same_class = next(chars for chars in alphabet_by_class if original in chars)
            for replacement in same_class:
                if replacement == original:
                    continue
                typo = reference[:position] + replacement + reference[position + 1 :]
                assert not references.is_valid(typo), (reference, typo)


def test_garbage_is_not_a_valid_reference() -> None:
    for text in ("", "RF", "RF00", "RF18", "XX18ZP234", "RF18 ZP23 4567 89AB CDEF GHJK MNPQ RS"):
        assert not references.is_valid(text), text
