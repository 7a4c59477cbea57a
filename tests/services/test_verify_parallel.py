"""``verify(jobs=N)``: partners checked by worker processes give the report one process gives.

Goal: ``zeropools verify --jobs 2`` is only a way to use more cores: the same partners, entries,
trades, pay-ins and problems, in the same order, with ``on_partner`` called for each; and on a
ledger tampered in several partners the workers report every problem the serial run does.

Method: the healthy two-partner ledger of test_verify_service plus a third partner, then an
entry altered (trigger dropped) and a stored balance edited in different partners; reports of
``jobs=1`` and ``jobs=2`` (spawned workers opening the store by URL) compared field by field.
"""

from __future__ import annotations

from test_verify_service import drop_append_only_triggers, healthy_ledger, raw

from support import onboard, reference_of, send_payin
from zeropools.bootstrap import open_database
from zeropools.services.context import Deployment
from zeropools.services.verify import VerifyReport, verify


def parallel(dep: Deployment) -> tuple[VerifyReport, list[str]]:
    seen: list[str] = []
    report = verify(dep.store, seen.append, jobs=2, opener=open_database)
    return report, seen


def test_workers_report_what_one_process_reports_healthy_and_tampered(dep: Deployment) -> None:
    big, small = healthy_ledger(dep)
    third = onboard(dep, name="Third")
    send_payin(dep, "THIRD-1", "7.00", reference=reference_of(third))
    serial = verify(dep.store)
    report, seen = parallel(dep)
    assert serial.ok and report.ok, (serial.problems, report.problems)
    assert (report.partners, report.entries, report.payins) == (3, serial.entries, serial.payins)
    assert seen == [p for p in dep.store.read(lambda tx: tx.partner_ids())]

    drop_append_only_triggers(dep)
    raw(
        dep,
        "UPDATE ledger_entries SET amount_minor = amount_minor + 1 "
        "WHERE partner_id = %s AND sequence = 700",
        (big,),
    )
    raw(
        dep,
        "UPDATE partner_currencies SET available_minor = available_minor + 1 "
        "WHERE partner_id = %s AND currency = 'USD'",
        (small,),
    )
    serial = verify(dep.store)
    report, _ = parallel(dep)
    assert not serial.ok
    assert {p.partner_id for p in serial.problems} == {big, small}
    assert report.problems == serial.problems
    assert (report.partners, report.entries, report.trades, report.payins) == (
        serial.partners,
        serial.entries,
        serial.trades,
        serial.payins,
    )
