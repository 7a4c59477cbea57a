"""Demo data for ``make run``: a partner, fresh keys each start, the brief's ledger sequence.

Idempotent: the partner is created once (its id kept in settings), the top-up is a pay-in with
a fixed bank transaction id, so restarting never credits twice. Keys are issued anew at every
start because their secrets are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from zeropools.domain import ids, trades
from zeropools.domain.clock import utc_now
from zeropools.services import partners, payins, trading
from zeropools.services.context import Actor, Ctx, Deployment

DEMO_PARTNER_SETTING = "demo_partner_id"
DEMO_TOPUP_BANK_ID = "demo-topup-0001"
# a credit whose reference names nobody: it waits in the operator's review queue (dashboard)
DEMO_REVIEW_BANK_ID = "demo-review-0001"


@dataclass(frozen=True)
class Seeded:
    partner_id: str
    admin_key: str
    server_key: str
    funding_reference: str

    def lines(self) -> list[str]:
        return [
            f"partner      {self.partner_id}",
            f"admin key    {self.admin_key}",
            f"server key   {self.server_key}",
            f"funding ref  {self.funding_reference} (EUR)",
        ]


def _operator_ctx() -> Ctx:
    return Ctx(ids.new_id(ids.REQUEST), utc_now(), Actor("zpk_demo", "operator", None))


def _brief_sequence(dep: Deployment, partner_id: str) -> None:
    """The product brief's example: -100.00 debited then released, then -250.00 debited.

    Runs once (only while the partner has no trades); the venue simulator later settles the
    250.00 trade, and the debit stands: 1000.00 -> 900.00 -> 1000.00 -> 750.00.
    """
    server = Ctx(
        ids.new_id(ids.REQUEST), utc_now(), Actor("zpk_demo", "partner_server", partner_id)
    )
    has_trades = dep.store.read(
        lambda tx: tx.list_trades(
            partner_id, partner_order_id=None, status=None, limit=1, starting_after=None
        )
    )
    if has_trades:
        return
    first = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="100.00", partner_order_id="order_123"
    )
    trade = trading.execute_trade(
        dep, server, quote_id=first.quote.id, partner_order_id="order_123"
    )
    trading.move_trade(dep, server, trade.trade.id, trades.RELEASED)
    second = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="250.00", partner_order_id="order_124"
    )
    trading.execute_trade(dep, server, quote_id=second.quote.id, partner_order_id="order_124")


def seed(dep: Deployment) -> Seeded:
    ctx = _operator_ctx()
    partner_id = dep.store.read(lambda tx: tx.get_setting(DEMO_PARTNER_SETTING))
    if partner_id is None:
        created = partners.create_partner(
            dep,
            ctx,
            name="Demo Wallet GmbH",
            balance_model="debit",
            currencies=["EUR", "USD"],
            low_balance_threshold={"EUR": "100.00"},
        )
        partner_id = created.partner.id
        dep.store.write(lambda tx: tx.set_setting(DEMO_PARTNER_SETTING, created.partner.id))
    partner = partners.get_partner(dep, ctx, partner_id)
    pc = partner.currency("EUR")
    assert pc is not None
    note = payins.notification(
        dep,
        bank_transaction_id=DEMO_TOPUP_BANK_ID,
        amount="1000.00",
        currency="EUR",
        booking_status="booked",
        reference=pc.funding_reference,
        debtor_name="Demo Wallet GmbH",
    )
    payins.record_payin(dep, ctx, note)
    unattributed = payins.notification(
        dep,
        bank_transaction_id=DEMO_REVIEW_BANK_ID,
        amount="420.00",
        currency="EUR",
        booking_status="booked",
        remittance_info="Top-up for Demo Wallet, invoice 4711",
        debtor_name="Demo Wallet GmbH",
    )
    payins.record_payin(dep, ctx, unattributed)  # idempotent on the bank id, like the top-up
    _brief_sequence(dep, partner_id)
    admin = partners.issue_api_key(dep, ctx, partner_id, "partner_admin")
    server = partners.issue_api_key(dep, ctx, partner_id, "partner_server")
    return Seeded(partner_id, admin.secret, server.secret, pc.funding_reference)
