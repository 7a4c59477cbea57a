"""Period close and the finance export, at the service layer, on both stores.

Goal: the issue's "done when": a past day with credits, trades, a release, a failure and a
return is refused until its failure and return are acknowledged, then closes with a signed
checkpoint; its export verifies offline with the public key alone and never changes again; a
forged export and a wrong key fail; a consistent rewrite of the closed day is caught by
``verify --checkpoints``. Method: activity on the domain clock (``ctx_for(now=past)``), the
services as routes call them, raw SQL (trigger dropped) for the attacker.
"""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from finance_support import acknowledge, brief_day, new_day

from support import ctx_for
from zeropools.client import ExportVerificationError, verify_export
from zeropools.domain import ledger
from zeropools.domain.errors import PeriodHasOpenItems, PeriodNotEnded
from zeropools.domain.exports import CSV_HEADER
from zeropools.services import exports, periods, signing
from zeropools.services.context import Deployment
from zeropools.services.verify import verify


def export_bytes(
    dep: Deployment, partner_id: str, date: str, fmt: str = "csv"
) -> tuple[bytes, str]:
    ctx = ctx_for("partner_admin", partner_id)
    request = exports.export_request(dep, ctx, None, date=date, currency="EUR", fmt=fmt, tz=None)
    export = exports.open_export(dep, request)
    data = b"".join(export.chunks)
    export.close()
    return data, export.sha256


def public_key(dep: Deployment) -> str:
    return signing.current_key(dep).public_key


def closed_brief_day(fdep: Deployment) -> tuple[str, str, dict[str, str]]:
    day = new_day(fdep)
    trades = brief_day(day)
    acknowledge(fdep, day.partner_id, trades["failed"])
    acknowledge(fdep, day.partner_id, trades["returned"])
    periods.close_period(fdep, ctx_for("partner_admin", day.partner_id), day.date)
    return day.partner_id, day.date, trades


def test_close_is_refused_with_the_open_items_then_closes_once_they_are_acknowledged(
    fdep: Deployment,
) -> None:
    day = new_day(fdep)
    trades = brief_day(day)
    admin = ctx_for("partner_admin", day.partner_id)
    with pytest.raises(PeriodHasOpenItems) as refused:
        periods.close_period(fdep, admin, day.date)
    items = refused.value.extra["items"]
    assert {(i["kind"], i["id"], i["status"]) for i in items} == {
        ("trade", trades["failed"], "failed"),
        ("trade", trades["returned"], "returned"),
    }  # the release is the partner's own decision: not an open item
    acknowledge(fdep, day.partner_id, trades["failed"])
    with pytest.raises(PeriodHasOpenItems):
        periods.close_period(fdep, admin, day.date)
    acknowledge(fdep, day.partner_id, trades["returned"])
    closed = periods.close_period(fdep, admin, day.date)
    assert closed.newly and closed.period.status == "closed"
    eur = closed.period.close_of("EUR")
    assert eur is not None
    assert (eur.closing.available_minor, eur.closing.reserved_minor) == (
        100_000,
        0,
    )  # everything unwound
    again = periods.close_period(fdep, admin, day.date)
    assert not again.newly and again.period == closed.period


def test_a_day_that_has_not_ended_is_refused_as_not_ended(fdep: Deployment) -> None:
    day = new_day(fdep, days_ago=0)
    with pytest.raises(PeriodNotEnded):
        periods.close_period(fdep, ctx_for("partner_admin", day.partner_id), day.date)
    # yesterday (UTC) has ended in UTC, but not yet everywhere: at UTC-11 it runs until 11:00
    # UTC today, so before that hour it is refused; and in UTC it closes
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    if datetime.now(UTC).hour < 10:
        with pytest.raises(PeriodNotEnded):
            periods.close_period(
                fdep, ctx_for("partner_admin", day.partner_id), yesterday, tz="Pacific/Pago_Pago"
            )
    closed = periods.close_period(fdep, ctx_for("partner_admin", day.partner_id), yesterday)
    assert closed.period.tz == "UTC"


def test_the_closed_day_export_verifies_offline_with_the_public_key_alone(
    fdep: Deployment,
) -> None:
    partner_id, date, _ = closed_brief_day(fdep)
    key = public_key(fdep)
    for fmt in ("csv", "jsonl"):
        data, _ = export_bytes(fdep, partner_id, date, fmt)
        report = verify_export(data, key)
        assert report.signed and report.entries == 7 and report.closing == ("1000.00", "0.00")
        period = fdep.store.read(lambda tx: tx.get_period(partner_id, date))
        assert period is not None and period.close_of("EUR") is not None
    rows = list(csv.reader(io.StringIO(export_bytes(fdep, partner_id, date)[0].decode())))
    assert tuple(rows[0]) == CSV_HEADER
    assert [r[0] for r in rows[1:]] == ["opening"] + ["entry"] * 7 + ["closing"]


def test_a_closed_day_export_is_frozen_after_later_activity(fdep: Deployment) -> None:
    partner_id, date, _ = closed_brief_day(fdep)
    first, sha = export_bytes(fdep, partner_id, date)
    period = fdep.store.read(lambda tx: tx.get_period(partner_id, date))
    assert period is not None
    eur = period.close_of("EUR")
    assert eur is not None and sha == eur.csv_sha256
    # later activity on another day
    day = new_day(fdep, days_ago=0)
    day.partner_id, day.reference = partner_id, _reference(fdep, partner_id)
    day.fund("5.00")
    again, sha_again = export_bytes(fdep, partner_id, date)
    assert again == first and sha_again == sha


def _reference(dep: Deployment, partner_id: str) -> str:
    partner = dep.store.read(lambda tx: tx.get_partner(partner_id))
    assert partner is not None
    pc = partner.currency("EUR")
    assert pc is not None
    return pc.funding_reference


def test_an_open_day_exports_the_same_bytes_every_time_and_its_header_hash_matches(
    fdep: Deployment,
) -> None:
    import hashlib

    day = new_day(fdep)
    brief_day(day)
    first, sha = export_bytes(fdep, day.partner_id, day.date)
    second, _ = export_bytes(fdep, day.partner_id, day.date)
    assert first == second and hashlib.sha256(first).hexdigest() == sha
    report = verify_export(first, public_key(fdep), require_signature=False)
    assert not report.signed
    with pytest.raises(ExportVerificationError, match="no signed checkpoint"):
        verify_export(first, public_key(fdep))


def test_a_forged_export_and_a_wrong_key_both_fail_verification(fdep: Deployment) -> None:
    partner_id, date, _ = closed_brief_day(fdep)
    data, _ = export_bytes(fdep, partner_id, date)
    rows = list(csv.reader(io.StringIO(data.decode())))
    # one amount changed, and the balances after it and the closing row adjusted to match
    credit = rows[2]
    assert credit[4] == "payin_credit"
    for row in rows[2:]:
        if row[0] in ("entry", "closing"):
            row[6] = f"{float(row[6]) + 1:.2f}"  # test-only arithmetic on tiny values
    credit[5] = "1001.00"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    with pytest.raises(ExportVerificationError):
        verify_export(out.getvalue().encode(), public_key(fdep))
    wrong = base64.b64encode(bytes(32)).decode()
    with pytest.raises(ExportVerificationError):
        verify_export(data, wrong)


def test_a_consistent_rewrite_of_a_closed_day_is_caught_by_the_checkpoints(
    fdep: Deployment, db_url: str
) -> None:
    partner_id, _, _ = closed_brief_day(fdep)
    assert verify(fdep.store, checkpoints=True).ok
    entries = fdep.store.read(lambda tx: list(tx.iter_entries(partner_id)))
    # the attacker lowers the first credit by 1.00 and recomputes everything after it
    rewritten, prev, delta = [], ledger.GENESIS_HASH, -100
    for index, entry in enumerate(entries):
        if index == 0:
            entry = replace(
                entry,
                amount_minor=entry.amount_minor + delta,
                lines=tuple(
                    ledger.Line(
                        line.account,
                        line.amount_minor + (delta if line.amount_minor > 0 else -delta),
                    )
                    for line in entry.lines
                ),
            )
        entry = replace(
            entry,
            available_after_minor=entry.available_after_minor + delta,
            prev_hash=prev,
        )
        entry = replace(entry, hash=ledger.chain_hash(prev, entry.hash_payload()))
        rewritten.append(entry)
        prev = entry.hash
    _rewrite(fdep, db_url, partner_id, rewritten)
    plain = verify(fdep.store)
    # a consistent rewrite: the chain and its rows replay clean; only what was handed out
    # before it can tell (the heads published on events, and the signed checkpoints)
    assert plain.problems and {p.field for p in plain.problems} <= {"head", "amount"}, plain
    checked = verify(fdep.store, checkpoints=True)
    assert not checked.ok
    assert any("signed checkpoint" in str(p) for p in checked.problems), checked.problems


def _rewrite(
    dep: Deployment, db_url: str, partner_id: str, entries: list[ledger.LedgerEntry]
) -> None:
    from zeropools.store.sql.ledger import ENTRY_COLUMNS, entry_params

    sqlite = db_url.startswith("sqlite")

    def work(tx: object) -> None:
        run = tx._run  # type: ignore[attr-defined]
        if sqlite:
            run("DROP TRIGGER ledger_entries_no_delete")
        else:
            run("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only")
        run("DELETE FROM ledger_entries WHERE partner_id = %s", (partner_id,))
        for entry in entries:
            params = entry_params(entry)
            run(
                f"INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES "
                "(" + ", ".join(["%s"] * len(params)) + ")",
                params,
            )
        # the pay-in row too, or verify's cross-check of pay-ins against entries would tell
        first = entries[0]
        run(
            "UPDATE payins SET amount_minor = %s, amount_text = NULL WHERE id = %s",
            (first.amount_minor, first.links.payin_id),
        )
        last = entries[-1]
        run("UPDATE partners SET ledger_hash = %s WHERE id = %s", (last.hash, partner_id))
        run(
            "UPDATE partner_currencies SET available_minor = %s WHERE partner_id = %s",
            (last.available_after_minor, partner_id),
        )
        if not sqlite:
            run("ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only")

    dep.store.write(work)  # type: ignore[arg-type]
