"""The balance-over-time chart as inline SVG, computed on the server (no script, no CDN).

Input: ledger entries oldest first (each carries ``available_after_minor``). Output: a
``Chart`` with the polyline's points and one marker per credit and per trade movement, in a
fixed viewBox, so the template only prints numbers. Amounts stay integers until scaled to
pixels; the axis labels are the representations' decimal strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.money import Currencies

WIDTH_PX = 900
HEIGHT_PX = 220
PAD_LEFT_PX = 8
PAD_RIGHT_PX = 8
PAD_Y_PX = 14
CREDIT_TYPES = frozenset({"payin_credit", "adjustment"})


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    kind: str  # "credit" or "trade"
    label: str


@dataclass(frozen=True)
class Chart:
    points: str  # "x,y x,y ..." for <polyline>
    markers: tuple[Marker, ...]
    top_label: str
    bottom_label: str
    first_at: str
    last_at: str
    width: int = WIDTH_PX
    height: int = HEIGHT_PX


def balance_chart(entries: Sequence[LedgerEntry], money: Currencies, currency: str) -> Chart | None:
    """None when there is nothing to draw (no entry in the window)."""
    if not entries:
        return None
    values = [e.available_after_minor for e in entries]
    low, high = min(0, *values), max(values)
    span = max(high - low, 1)
    inner_w = WIDTH_PX - PAD_LEFT_PX - PAD_RIGHT_PX
    inner_h = HEIGHT_PX - 2 * PAD_Y_PX
    step = inner_w / max(len(entries) - 1, 1)

    def y_of(value: int) -> float:
        return round(PAD_Y_PX + inner_h * (high - value) / span, 1)

    coords = [(round(PAD_LEFT_PX + i * step, 1), y_of(v)) for i, v in enumerate(values)]
    if len(coords) == 1:  # one entry: a flat line across, so it is visible
        coords.append((float(WIDTH_PX - PAD_RIGHT_PX), coords[0][1]))
    markers: list[Marker] = []
    for (x, y), entry in zip(coords, entries, strict=False):
        amount = money.format(entry.amount_minor, entry.currency)
        if entry.type in CREDIT_TYPES and entry.amount_minor > 0:
            markers.append(Marker(x, y, "credit", f"{entry.type} +{amount} {currency}"))
        elif entry.links.trade_id is not None:
            markers.append(Marker(x, y, "trade", f"{entry.type} {amount} {currency}"))
    return Chart(
        points=" ".join(f"{x},{y}" for x, y in coords),
        markers=tuple(markers),
        top_label=money.format(high, currency),
        bottom_label=money.format(low, currency),
        first_at=entries[0].created_at,
        last_at=entries[-1].created_at,
    )
