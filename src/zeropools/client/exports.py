"""Verify a finance export offline, from the file and the platform's public key alone.

``verify_export(data, public_key)`` recomputes every entry's hash from its row (chain version 2,
docs/ledger-hash.md), checks the chain links between consecutive sequences, the roll-forward
(opening balances moved by each entry reach its ``available_after``/``reserved_after``, and
the closing row equals the last of them), that the checkpoint states exactly the closing row,
and the checkpoint's Ed25519 signature. Any difference raises ``ExportVerificationError``.

The canonical form is reimplemented here on purpose: this module imports nothing of the server,
so a partner can read it, or port it, and trust no code of ours but this. Ed25519 comes from
the ``cryptography`` package, imported when a signature is checked (``pip install
cryptography``); everything else is the standard library.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64
HASH_VERSION = 2
KEY_ID_PREFIX = "sk_"
_KEY_ID_HEX_DIGITS = 24
_ED25519_PUBLIC_KEY_BYTES = 32
_LINKS = (
    "trade_id",
    "quote_id",
    "payin_id",
    "related_entry_id",
    "partner_order_id",
    "funding_reference",
)


class ExportVerificationError(ValueError):
    """The export differs from what its hashes, balances or signature prove."""


@dataclass(frozen=True)
class ExportReport:
    partner_id: str
    currency: str
    entries: int
    opening: tuple[str, str]  # (available, reserved) as in the file
    closing: tuple[str, str]
    last_sequence: int
    head_hash: str
    signed: bool
    signing_key_id: str | None
    checkpoint: dict[str, Any] | None


def canonical_json(value: Any) -> str:
    """UTF-8 text, keys sorted, separators ``,`` and ``:``, no other whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def minor_units(text: str) -> int:
    """``"-100.50"`` -> ``-10050``: the digits without the point (the file has one scale)."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("-").replace(".", "", 1)
    if not digits.isdigit():
        raise ExportVerificationError(f"{text!r} is not a decimal amount")
    return sign * int(digits)


def entry_hash(prev_hash: str, row: dict[str, Any], partner_id: str, currency: str) -> str:
    payload = {
        "v": HASH_VERSION,
        "id": row["id"],
        "partner_id": partner_id,
        "currency": currency,
        "sequence": int(row["sequence"]),
        "type": row["type"],
        "amount_minor": minor_units(row["amount"]),
        "available_after_minor": minor_units(row["available_after"]),
        "reserved_after_minor": minor_units(row["reserved_after"]),
        **{name: row.get(name) or None for name in _LINKS},
        "request_id": row["request_id"],
        "created_at": row["created_at"],
    }
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()


def public_key_id(public_raw: bytes) -> str:
    return KEY_ID_PREFIX + hashlib.sha256(public_raw).hexdigest()[:_KEY_ID_HEX_DIGITS]


def _raw_public_key(public_key: str | bytes) -> bytes:
    """Base64 text (as ``GET /v1/signing-keys`` lists it), 32 raw bytes, or a PEM."""
    if isinstance(public_key, bytes) and len(public_key) == _ED25519_PUBLIC_KEY_BYTES:
        return public_key
    text = public_key.decode("ascii") if isinstance(public_key, bytes) else public_key
    if "BEGIN PUBLIC KEY" in text:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        loaded = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(loaded, Ed25519PublicKey):
            raise ExportVerificationError("the public key is not an Ed25519 key")
        return loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = base64.b64decode(text, validate=True)
    if len(raw) != _ED25519_PUBLIC_KEY_BYTES:
        raise ExportVerificationError("an Ed25519 public key has 32 bytes")
    return raw


def _check_signature(public_raw: bytes, text: str, signature: str) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            base64.b64decode(signature, validate=True), text.encode("utf-8")
        )
    except (InvalidSignature, ValueError) as exc:
        raise ExportVerificationError("the checkpoint signature does not verify") from exc


def _rows(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(opening, entries, closing), as dicts with the CSV column names."""
    text = data.decode("utf-8")
    if text.startswith("{"):
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise ExportVerificationError("an export has an opening and a closing line")
        first, *middle, last = lines
        if first.get("object") != "export_opening" or last.get("object") != "export_closing":
            raise ExportVerificationError("the first line opens and the last line closes")
        for bound in (first, last):
            bound["id"], bound["type"] = bound["partner_id"], bound["currency"]
            bound["available_after"], bound["reserved_after"] = (
                bound["available"],
                bound["reserved"],
            )
        checkpoint = last.get("checkpoint")
        last["checkpoint"] = canonical_json(checkpoint) if checkpoint is not None else ""
        return first, middle, last
    table = list(csv.DictReader(io.StringIO(text, newline="")))
    if len(table) < 2:
        raise ExportVerificationError("an export has an opening and a closing row")
    first, *middle, last = table
    if first["row_type"] != "opening" or last["row_type"] != "closing":
        raise ExportVerificationError("the first row opens and the last row closes")
    if any(row["row_type"] != "entry" for row in middle):
        raise ExportVerificationError("rows between opening and closing must be entries")
    return first, middle, last


def verify_export(
    data: bytes, public_key: str | bytes, *, require_signature: bool = True
) -> ExportReport:
    """Check a CSV or JSON lines export (see the module docstring); raise on any difference."""
    opening, entries, closing = _rows(data)
    partner_id, currency = opening["id"], opening["type"]
    if (closing["id"], closing["type"]) != (partner_id, currency):
        raise ExportVerificationError("opening and closing rows name different ledgers")
    sequence, head = int(opening["sequence"] or 0), opening["hash"] or ""
    available, reserved = (
        minor_units(opening["available_after"]),
        minor_units(opening["reserved_after"]),
    )
    for row in entries:
        here = f"entry #{row['sequence']} ({row['id']})"
        if int(row["sequence"]) <= sequence:
            raise ExportVerificationError(f"{here}: out of sequence order")
        if head and int(row["sequence"]) == sequence + 1 and row["prev_hash"] != head:
            raise ExportVerificationError(f"{here}: prev_hash does not link the entry before")
        if entry_hash(row["prev_hash"], row, partner_id, currency) != row["hash"]:
            raise ExportVerificationError(f"{here}: hash does not match the row's contents")
        after = minor_units(row["available_after"]), minor_units(row["reserved_after"])
        moved_available, moved_reserved = after[0] - available, after[1] - reserved
        moved = moved_available if moved_available != 0 else moved_reserved
        if minor_units(row["amount"]) != moved:
            raise ExportVerificationError(
                f"{here}: amount {row['amount']} does not roll the balances forward"
            )
        available, reserved = after
        sequence, head = int(row["sequence"]), row["hash"]
    closed = minor_units(closing["available_after"]), minor_units(closing["reserved_after"])
    if closed != (available, reserved):
        raise ExportVerificationError("closing balances differ from opening + entries")
    if (int(closing["sequence"] or 0), closing["hash"] or "") != (sequence, head):
        raise ExportVerificationError("the closing row does not name the last entry")
    checkpoint_text = closing.get("checkpoint") or ""
    if not checkpoint_text:
        if require_signature:
            raise ExportVerificationError("the export carries no signed checkpoint (open day?)")
        return _report(opening, closing, len(entries), None)
    checkpoint = json.loads(checkpoint_text)
    if canonical_json(checkpoint) != checkpoint_text:
        raise ExportVerificationError("the checkpoint is not in canonical form")
    stated = {
        "partner_id": partner_id,
        "currency": currency,
        "closing": {"available": closing["available_after"], "reserved": closing["reserved_after"]},
        "last_sequence": sequence,
        "head_hash": head,
    }
    for name, value in stated.items():
        if checkpoint.get(name) != value:
            raise ExportVerificationError(f"the checkpoint's {name} differs from the file")
    public_raw = _raw_public_key(public_key)
    if closing.get("signing_key_id") != public_key_id(public_raw):
        raise ExportVerificationError("the checkpoint was signed with another key")
    _check_signature(public_raw, checkpoint_text, closing.get("signature") or "")
    return _report(opening, closing, len(entries), checkpoint)


def _report(
    opening: dict[str, Any],
    closing: dict[str, Any],
    entries: int,
    checkpoint: dict[str, Any] | None,
) -> ExportReport:
    return ExportReport(
        partner_id=opening["id"],
        currency=opening["type"],
        entries=entries,
        opening=(opening["available_after"], opening["reserved_after"]),
        closing=(closing["available_after"], closing["reserved_after"]),
        last_sequence=int(closing["sequence"] or 0),
        head_hash=closing["hash"] or "",
        signed=checkpoint is not None,
        signing_key_id=closing.get("signing_key_id") if checkpoint is not None else None,
        checkpoint=checkpoint,
    )
