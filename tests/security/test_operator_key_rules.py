"""Operator keys from configuration: only strong ones start a server, and a new value replaces
the key the earlier one registered (issue 14, finding 3).

Goal: ``ZEROPOOLS_OPERATOR_KEY=zpk_test_``, ``zpk_test_1``, a low-variety or a published value
makes ``serve``, ``worker`` and ``demo`` exit 2 with a message that names the variable; a
generated key passes; changing the variable revokes the key its earlier value registered (so an
old value stops working) while keys issued through the API stay.
Method: the domain rule on values; the installed ``zeropools`` command in subprocesses on SQLite
files; the registration service on both stores.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from security_support import free_port, run, serving, strong_operator_key

from support import bearer, issue_operator_key, sqlite_url
from zeropools.domain.keys import estimated_bits, operator_secret_weakness, pepper_weakness
from zeropools.domain.partners import new_api_key_secret
from zeropools.services import partners
from zeropools.services.api_keys import find_key
from zeropools.services.context import Deployment

WEAK = [
    "zpk_test_",
    "zpk_test_1",
    "zpk_test_" + "a" * 64,
    "zpk_test_" + "ab" * 40,
    "zpk_test_0123456789",
    "zpk_test_" + "0123456789" * 3,
    "zpk_test_demo_operator_key_for_local_use_only",  # printed in earlier READMEs
    "zpk_test_" + "x" * 20 + " " + "y" * 20,
]


@pytest.mark.parametrize("secret", WEAK)
def test_weak_or_published_operator_keys_are_refused(secret: str) -> None:
    assert operator_secret_weakness(secret, "test") is not None


def test_generated_keys_and_long_hex_pass_and_the_mode_prefix_is_required() -> None:
    for _ in range(200):
        assert operator_secret_weakness(new_api_key_secret("test"), "test") is None
    assert operator_secret_weakness("zpk_test_" + secrets.token_hex(32), "test") is None
    assert operator_secret_weakness(new_api_key_secret("live"), "live") is None
    assert "zpk_test_" in str(operator_secret_weakness(new_api_key_secret("live"), "test"))


def test_the_estimate_counts_repeats_and_small_alphabets_for_little() -> None:
    assert estimated_bits("a" * 100) == 0
    assert estimated_bits("ab" * 50) == pytest.approx(100)  # one bit a character
    assert estimated_bits(secrets.token_hex(32)) > 200
    assert pepper_weakness("pepper") is not None
    assert pepper_weakness(secrets.token_hex(32)) is None


@pytest.mark.slow
@pytest.mark.parametrize("secret", ["zpk_test_", "zpk_test_1", "zpk_test_" + "ab" * 40])
def test_serve_worker_and_demo_refuse_to_start_with_a_weak_key(tmp_path: Path, secret: str) -> None:
    db = sqlite_url(tmp_path)
    assert run("init", "--db", db).returncode == 0
    for command in (
        ["serve", "--db", db, "--port", str(free_port())],
        ["worker", "--db", db],
        ["demo", "--db", db, "--port", str(free_port())],
    ):
        result = run(*command, ZEROPOOLS_OPERATOR_KEY=secret)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "ZEROPOOLS_OPERATOR_KEY refused" in result.stderr, result.stderr
        assert "zeropools keys operator" in result.stderr


def test_keys_operator_prints_a_strong_key() -> None:
    printed = run("keys", "operator", "--mode", "live")
    assert printed.returncode == 0
    assert operator_secret_weakness(printed.stdout.strip(), "live") is None


@pytest.mark.slow
def test_a_new_value_of_the_variable_revokes_the_key_the_old_value_registered(
    tmp_path: Path,
) -> None:
    db = sqlite_url(tmp_path)
    old, new = strong_operator_key(), strong_operator_key()
    with serving(db, tmp_path / "first.log", ZEROPOOLS_OPERATOR_KEY=old) as first:
        issued = httpx.post(f"{first.base_url}/v1/operator-keys", headers=bearer(old), timeout=60)
        assert issued.status_code == 201, issued.text
        api_issued = issued.json()["secret"]
    with serving(db, tmp_path / "second.log", ZEROPOOLS_OPERATOR_KEY=new) as second:
        with httpx.Client(base_url=second.base_url, timeout=60) as http:
            refused = http.get("/v1/partners", headers=bearer(old))
            accepted = http.get("/v1/partners", headers=bearer(new))
            still = http.get("/v1/partners", headers=bearer(api_issued))
            listed = http.get("/v1/operator-keys", headers=bearer(new)).json()["data"]
        log = second.stop()

    assert refused.status_code == 401
    assert accepted.status_code == 200 and still.status_code == 200
    by_last4 = {key["last4"]: key for key in listed}
    assert by_last4[old[-4:]]["revoked_at"] is not None
    assert by_last4[new[-4:]]["revoked_at"] is None
    assert by_last4[api_issued[-4:]]["revoked_at"] is None
    assert "revoked operator key" in log and old not in log


def test_registering_is_idempotent_and_replaces_only_configured_keys(dep: Deployment) -> None:
    issued = issue_operator_key(dep)  # as 'init' or POST /v1/operator-keys issue them
    first_secret, second_secret = strong_operator_key(), strong_operator_key()
    first = partners.ensure_operator_key(dep, first_secret, "2026-12-01T10:00:00.000000Z")
    again = partners.ensure_operator_key(dep, first_secret, "2026-12-01T10:01:00.000000Z")
    second = partners.ensure_operator_key(dep, second_secret, "2026-12-01T10:02:00.000000Z")

    assert again.key.id == first.key.id and again.revoked == ()
    assert [k.id for k in second.revoked] == [first.key.id]
    old = find_key(dep, first_secret)
    assert old is not None and old.revoked_at == "2026-12-01T10:02:00.000000Z"
    kept = find_key(dep, issued.secret)
    assert kept is not None and kept.revoked_at is None
