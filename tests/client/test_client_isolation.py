"""The client runs without the server: only the standard library and ``httpx``.

Goal: ``import zeropools.client`` (and using it: a request over a mock transport, a webhook
verification) works in an interpreter where the server's packages cannot be imported, so a
partner can install and use the client alone.

Method: a fresh ``python`` subprocess that first sets ``sys.modules[name] = None`` for the
server's own modules and its third-party dependencies (which makes any import of them raise
ImportError), then imports the client and exercises it; a second check reads the client's
source for imports of other ``zeropools`` modules.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import zeropools.client

BLOCKED = [
    "zeropools.domain",
    "zeropools.services",
    "zeropools.store",
    "zeropools.api",
    "zeropools.bankfiles",
    "zeropools.workers",
    "zeropools.bootstrap",
    "zeropools.config",
    "zeropools.cli",
    "zeropools.demo",
    "fastapi",
    "starlette",
    "pydantic",
    "uvicorn",
    "psycopg",
    "psycopg_pool",
    "stdnum",
    "defusedxml",
    "mt940",
    "jinja2",
    "typer",
    "rich",
    "prometheus_client",
]

SCRIPT = textwrap.dedent(
    """
    import sys
    for name in {blocked!r}:
        sys.modules[name] = None  # any import of it now raises ImportError

    import json
    from decimal import Decimal

    import httpx

    from zeropools.client import Client, sign_webhook, verify_webhook

    def answer(request):
        body = {{"id": "bal_x_EUR", "object": "balance", "currency": "EUR",
                "available": "1.00", "reserved": "0.00", "pending": "0.00", "total": "1.00",
                "low_balance_threshold": None, "low": False,
                "as_of": "2026-11-23T09:15:00Z"}}
        return httpx.Response(200, content=json.dumps(body).encode())

    with Client("https://x.test", "zpk_test_k", transport=httpx.MockTransport(answer)) as c:
        assert c.balance("EUR").available == Decimal("1.00")

    import time
    now = int(time.time())
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = {{"webhook-id": "evt_1", "webhook-timestamp": str(now),
               "webhook-signature": sign_webhook(secret, "evt_1", now, '{{"id": "evt_1"}}')}}
    assert verify_webhook(secret, headers, '{{"id": "evt_1"}}') == {{"id": "evt_1"}}

    loaded = sorted(n for n, m in sys.modules.items() if n.startswith("zeropools") and m)
    print(" ".join(loaded))
    """
)


def test_the_client_imports_and_works_with_the_server_packages_blocked() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(blocked=BLOCKED)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert loaded <= {
        "zeropools",
        *(
            f"zeropools.client{s}"
            for s in (
                "",
                "._client",
                "._http",
                "._retry",
                ".errors",
                ".exports",
                ".models",
                ".webhooks",
            )
        ),
    }, loaded


def test_no_client_module_imports_another_zeropools_package() -> None:
    package = Path(zeropools.client.__file__).parent
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module is not None:
                names = [node.module]
            for name in names:
                if name == "zeropools" or name.startswith("zeropools."):
                    assert name.startswith("zeropools.client"), (path.name, name)
