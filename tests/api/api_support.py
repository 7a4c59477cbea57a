"""Helpers of the HTTP tests: validation error fields and partner keys (the rest is in
``tests/support.py``: problem-document checks, auth headers, partner creation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def error_fields(body: dict[str, Any]) -> set[str]:
    return {item["field"] for item in body["errors"]}


@dataclass(frozen=True)
class PartnerKeys:
    """A partner created over HTTP, with its keys as plain secrets."""

    id: str
    admin: str
    server: str
    admin_key_id: str
    server_key_id: str
    reference: str  # the EUR funding reference
    body: dict[str, Any]  # the 201 response of POST /v1/partners

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> PartnerKeys:
        """From the 201 body of ``POST /v1/partners``."""
        references = {fi["currency"]: fi["reference"] for fi in body["funding_instructions"]}
        return cls(
            id=body["id"],
            admin=body["api_keys"]["partner_admin"],
            server=body["api_keys"]["partner_server"],
            admin_key_id=body["api_key_ids"]["partner_admin"],
            server_key_id=body["api_key_ids"]["partner_server"],
            reference=references.get("EUR", ""),
            body=body,
        )
