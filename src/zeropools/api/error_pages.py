"""What each ``/errors/{code}`` page says: what happened, why, what to do next, an example.

A problem document's ``type`` is ``/errors/{code}``; a developer who follows it from a log line
should not need to read the source. ``what`` is also the one-line summary used wherever the code
is listed (the OpenAPI document's response descriptions).
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorPage:
    status: int
    what: str  # what happened, one sentence
    why: str  # why the service refuses it
    next: str  # what to do now
    example: str  # a request that gets this error and what to send instead (plain text)

    def html(self, code: str) -> str:
        name = html.escape(code)
        return (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            f"<title>{name} - zeropools</title>"
            f"<h1>{name}</h1><p>HTTP {self.status}</p>"
            f"<h2>What happened</h2><p>{html.escape(self.what)}</p>"
            f"<h2>Why</h2><p>{html.escape(self.why)}</p>"
            f"<h2>What to do</h2><p>{html.escape(self.next)}</p>"
            f"<h2>Example</h2><pre>{html.escape(self.example)}</pre>"
            '<p><a href="/docs">API reference</a></p></html>'
        )


PAGES: dict[str, ErrorPage] = {
    "malformed_json": ErrorPage(
        400,
        "The request body is not a JSON object the service could read.",
        "Bodies must be UTF-8 JSON (of limited nesting depth); an empty body, a form or a "
        "truncated document cannot be understood, so nothing was done.",
        "Send a JSON object. Nothing was stored: fix the body and send it again with the same "
        "Idempotency-Key.",
        "POST /v1/quotes  pool_id=EUR-USDT            -> 400 malformed_json\n"
        'POST /v1/quotes  {"pool_id": "EUR-USDT", "source_amount": "100.00"}  -> 201',
    ),
    "idempotency_key_required": ErrorPage(
        400,
        "A money-moving POST arrived without an Idempotency-Key header.",
        "Executions, trade actions, adjustments and pay-in actions move money; the key lets you "
        "retry after a timeout without moving it twice.",
        "Send an Idempotency-Key of 1 to 255 printable characters (a UUID, or your order id) "
        "and reuse it for every retry of the same request.",
        "POST /v1/trades\nIdempotency-Key: 6f1c2f9e-2d7b-4a51-9a0e-0d6f3f0c7b11\n"
        '{"quote_id": "pq_test_...", "partner_order_id": "order_123"}',
    ),
    "idempotency_key_invalid": ErrorPage(
        400,
        "The Idempotency-Key header is longer than 255 characters or holds a character that is "
        "not printable ASCII (a space, a tab, a control character).",
        "Keys are stored and compared byte for byte; a key that a proxy could trim or rewrite "
        "would not match on the retry.",
        "Use a UUID or your own order id; the problem's 'length' field says how long yours was. "
        "Nothing was stored.",
        "Idempotency-Key: order 123      -> 400 idempotency_key_invalid (space)\n"
        "Idempotency-Key: order_123      -> accepted",
    ),
    "unauthenticated": ErrorPage(
        401,
        "The Authorization header is missing, or the key is unknown, revoked or of the other "
        "mode (test/live).",
        "Every call is made on behalf of an API key; test keys only work on test deployments, "
        "live keys on live ones.",
        "Send 'Authorization: Bearer zpk_test_...' (or zpk_live_...) with a key that has not "
        "been revoked; ask the operator for a new key if yours was.",
        "curl -H 'Authorization: Bearer zpk_test_...' http://127.0.0.1:8000/v1/balances",
    ),
    "forbidden": ErrorPage(
        403,
        "The key is valid, but its role may not do this.",
        "Operators manage partners, pay-ins and venue outcomes (settle, fail, return); partner "
        "keys quote, execute, release and read their own partner's resources.",
        "Use a key of a role that may: the problem's 'role' field names yours.",
        "POST /v1/trades/pt_test_.../settle with a partner_server key -> 403 forbidden\n"
        "the same with the operator key                              -> 200",
    ),
    "not_found": ErrorPage(
        404,
        "No such object, path or pool, or it belongs to another partner.",
        "A partner key never learns whether another partner's id exists: such ids answer "
        "exactly like ids that do not exist.",
        "Check the id and the key you use; list the objects (GET /v1/trades, /v1/pools, ...) to "
        "find the right one.",
        "GET /v1/trades/pt_test_does_not_exist -> 404 not_found",
    ),
    "insufficient_balance": ErrorPage(
        409,
        "The partner's available balance does not cover the request.",
        "Balances are prefunded: nobody gets crypto before the fiat is there, and available "
        "never goes negative.",
        "Fund the balance (see GET /v1/funding-instructions) or lower the amount. The problem "
        "names currency, requested, available and shortfall. The refusal is stored under the "
        "Idempotency-Key: use a new key for a new attempt.",
        '{"code": "insufficient_balance", "currency": "EUR", "requested": "250.00", '
        '"available": "100.00", "shortfall": "150.00"}',
    ),
    "quote_expired": ErrorPage(
        409,
        "The quote's expires_at has passed.",
        "Quotes are firm for 30 seconds; after that the price no longer holds.",
        "Ask for a fresh quote (POST /v1/quotes) and execute it with a new Idempotency-Key.",
        'POST /v1/trades {"quote_id": "pq_test_...(older than 30 s)"} -> 409 quote_expired',
    ),
    "quote_already_used": ErrorPage(
        409,
        "The quote was already executed by another trade.",
        "A firm quote is one price for one trade.",
        "If that trade is yours, read it (GET /v1/trades?partner_order_id=...); otherwise ask "
        "for a fresh quote.",
        "a second POST /v1/trades with the same quote_id and a new key -> 409 quote_already_used",
    ),
    "order_already_executed": ErrorPage(
        409,
        "The partner_order_id already has an open or settled trade (trade_id names it).",
        "An order is paid once: executing it again would debit the balance a second time.",
        "Read the named trade (GET /v1/trades/{trade_id}). Only after it is released or failed "
        "may the order be executed again, with a fresh quote.",
        'POST /v1/trades {"quote_id": "pq_test_2", "partner_order_id": "order_1"}\n'
        '-> 409 {"code": "order_already_executed", "trade_id": "pt_test_1"}',
    ),
    "last_operator_key": ErrorPage(
        409,
        "The key to revoke is the only active operator key.",
        "Revoking it would lock every operator out of the platform, with no API left to undo it.",
        "Issue another operator key first (POST /v1/operator-keys), then revoke this one.",
        "DELETE /v1/api-keys/zpk_01... -> 409 last_operator_key\n"
        "POST /v1/operator-keys -> 201 (a new key, shown once); then DELETE -> 200",
    ),
    "invalid_transition": ErrorPage(
        409,
        "The trade's status does not allow this action.",
        "Trades move reserved/debited -> settled, released or failed, and settled -> returned; "
        "released, failed and returned never change.",
        "Read the trade (GET /v1/trades/{id}); the problem names from_status and to_status.",
        "POST /v1/trades/pt_test_.../settle on a released trade -> 409 invalid_transition "
        '{"from_status": "released", "to_status": "settled"}',
    ),
    "idempotency_key_in_use": ErrorPage(
        409,
        "A request with this Idempotency-Key is still being processed.",
        "The first request's answer is not known yet; running the second would risk a double "
        "effect.",
        "Retry after a moment with the same key: you will get the first request's answer.",
        "two POST /v1/trades with Idempotency-Key: k at the same instant",
    ),
    "payin_conflict": ErrorPage(
        409,
        "This bank_transaction_id is already known with another amount or currency.",
        "A bank transaction id names one credit; two different amounts under one id means one "
        "of the notifications is wrong.",
        "Check the bank's record. Nothing was changed; resend the original notification, or "
        "use the real id of the other credit.",
        '{"bank_transaction_id": "bank-1", "amount": "1000.00"} then '
        '{"bank_transaction_id": "bank-1", "amount": "999.00"} -> 409 payin_conflict',
    ),
    "period_has_open_items": ErrorPage(
        409,
        "The day has failed or returned trades, or recalled pay-ins, that are not acknowledged.",
        "A closed day's export is frozen forever; it must not hide open questions.",
        "Acknowledge each item listed in 'items' (POST /v1/reconciliation/{id}/acknowledge), "
        "then close again.",
        "POST /v1/periods/2026-11-23/close -> 409 period_has_open_items "
        '{"items": [{"kind": "trade", "id": "pt_test_...", "status": "failed"}]}',
    ),
    "period_not_ended": ErrorPage(
        409,
        "The day has not ended yet in the period's time zone (tz).",
        "A period closes once no entry can still be written into it; a signed checkpoint of a "
        "day still running would be contradicted by the next entry.",
        "Close the day after midnight in its tz; GET /v1/periods/{date} says when it ends.",
        'POST /v1/periods/2026-12-01/close {"tz": "Europe/Berlin"} at 20:00 that day\n'
        "-> 409 period_not_ended; the same call after 00:00 Berlin time -> 200 closed",
    ),
    "signing_key_unavailable": ErrorPage(
        409,
        "A period cannot be closed: this live deployment has no key to sign its checkpoint.",
        "A closed day is published with an Ed25519 signature partners verify offline; an "
        "unsigned close would be a promise nobody can check, so it is refused.",
        "Ask the operator to set ZEROPOOLS_SIGNING_KEY_FILE to a PEM (PKCS#8) Ed25519 key "
        "('zeropools keys generate --out FILE' makes one) and restart; then close again.",
        "POST /v1/periods/2026-11-30/close -> 409 signing_key_unavailable\n"
        "ZEROPOOLS_SIGNING_KEY_FILE=/etc/zeropools/signing.pem zeropools serve; close -> 200",
    ),
    "payload_too_large": ErrorPage(
        413,
        "The request body is larger than this endpoint accepts.",
        "Bodies are bounded so that one request cannot exhaust the service: 1 MiB for JSON, "
        "20 MiB for bank statement files.",
        "Send a smaller body; split a large statement file into several.",
        "POST /v1/payins/import with a 30 MiB file -> 413 payload_too_large",
    ),
    "validation_error": ErrorPage(
        422,
        "The request does not match the operation's schema; 'errors' lists each field and "
        "what is wrong with it.",
        "A missing, mistyped or unknown field would change what the request means, so it is "
        "refused rather than guessed.",
        "Fix the fields named in 'errors'. Nothing was stored: the corrected request may reuse "
        "the same Idempotency-Key.",
        '{"pool_id": "EUR-USDT", "source_amount": "100.00", "colour": "red"} -> 422 '
        '{"errors": [{"field": "colour", "message": "Extra inputs are not permitted"}]}',
    ),
    "amount_invalid": ErrorPage(
        422,
        "An amount is not a decimal string this field accepts.",
        "Amounts are exact: decimal strings of ASCII digits with an optional '.', never JSON "
        "numbers (they pass through float), exponents, commas or spaces. A leading '-' only "
        "where the operation takes signed amounts (adjustments); zero where it makes no sense.",
        'Send the amount as a string such as "100.50" (adjustments: "-12.00"). Nothing was '
        "stored: the corrected request may reuse the same Idempotency-Key.",
        '"amount": 12.5 or "12,50" or "1e3" -> 422 amount_invalid\n'
        '"amount": "12.50"                   -> accepted',
    ),
    "amount_precision_exceeded": ErrorPage(
        422,
        "The amount has more decimals than the currency has.",
        "Nothing is ever rounded: EUR has 2 decimals, JPY 0, USDT 6; an extra decimal, even a "
        "zero, would be a silent change of the amount.",
        "Send at most the currency's decimals (the problem's 'scale'). Nothing was stored: the "
        "corrected request may reuse the same Idempotency-Key.",
        '"source_amount": "100.005" (EUR) -> 422 amount_precision_exceeded\n'
        '"source_amount": "100.01"        -> accepted',
    ),
    "currency_not_enabled": ErrorPage(
        422,
        "The currency is not enabled for this partner, or unknown to this deployment.",
        "Each partner funds and trades only in the currencies it was onboarded with.",
        "Use one of the partner's currencies (GET /v1/capabilities lists them), or ask the "
        "operator to enable another.",
        'POST /v1/quotes {"pool_id": "USD-USDT", ...} for an EUR-only partner -> 422',
    ),
    "pool_disabled": ErrorPage(
        422,
        "The pool exists but is disabled.",
        "The platform has stopped quoting this pair for now.",
        "Use another pool (GET /v1/pools shows which are enabled) or try again later.",
        'POST /v1/quotes {"pool_id": "EUR-USDC", ...} while EUR-USDC is disabled -> 422',
    ),
    "amount_out_of_range": ErrorPage(
        422,
        "The amount is outside the allowed range.",
        "Each pool has a minimum and maximum amount per trade (GET /v1/pools); no amount may "
        "exceed 10^15 minor units.",
        "Send an amount between the pool's min_amount and max_amount; split larger orders.",
        'POST /v1/quotes {"pool_id": "EUR-USDT", "source_amount": "1.00"} (min 10.00) -> 422',
    ),
    "idempotency_key_reused": ErrorPage(
        422,
        "The Idempotency-Key was used before with a different request.",
        "A key names one request; answering a different body with the first one's answer "
        "would hide your change.",
        "Use a new key for a new request; 'differences' names the fields that differ.",
        'Idempotency-Key: k  {"amount": "-12.00"} -> 201\n'
        'Idempotency-Key: k  {"amount": "-13.00"} -> 422 {"differences": ["amount"]}',
    ),
    "overloaded": ErrorPage(
        503,
        "Too many requests are queued for this partner's balance; nothing was done.",
        "Writes of one partner are applied in order; a bounded queue answers at once instead "
        "of letting requests time out.",
        "Wait for the Retry-After seconds and send the same request (same Idempotency-Key).",
        "HTTP/1.1 503  Retry-After: 1",
    ),
    "rate_limited": ErrorPage(
        429,
        "Too many requests: for this API key, from this address, or too many failed "
        "authentications from this address.",
        "Limits keep one client from starving the others and make guessing keys slow. Each "
        "limit is a token bucket per server process that refills continuously.",
        "Wait for the Retry-After seconds, then retry (same Idempotency-Key for writes); spread "
        "bursts out. Many 401s first? Fix the key: failures are counted per address.",
        "300 requests with wrong keys in a second -> 401 ... then 429  Retry-After: 2\n"
        "wait 2 s and send the right key -> 200",
    ),
    "request_timeout": ErrorPage(
        408,
        "The request's headers or body did not arrive in time; nothing was done.",
        "A connection that sends a request slowly, or stops half-way, would otherwise hold "
        "server resources forever.",
        "Send the whole request promptly (check proxies and upload speed); retry it as it was "
        "(same Idempotency-Key).",
        "POST /v1/payins/import with a body trickling in for minutes -> 408 request_timeout\n"
        "the same file sent at once -> 200",
    ),
    "internal_error": ErrorPage(
        500,
        "Something failed on our side; nothing was committed.",
        "An unexpected error rolls the whole request back.",
        "Retry with the same Idempotency-Key; if it persists, quote the request_id to support.",
        '{"code": "internal_error", "request_id": "req_..."}',
    ),
    "method_not_allowed": ErrorPage(
        405,
        "The path exists but not with this HTTP method.",
        "Each resource supports only the methods the API reference lists.",
        "Use a method named in the Allow header.",
        "DELETE /v1/trades/pt_test_... -> 405, Allow: GET",
    ),
}

# The one-line summary of each code (OpenAPI descriptions, older callers).
EXPLANATIONS: dict[str, str] = {code: page.what for code, page in PAGES.items()}
