"""The bytes of a JSON response: one encoder, so a stored (replayed) answer is byte-identical."""

from __future__ import annotations

import json
from typing import Any


def json_bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
