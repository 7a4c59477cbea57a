"""Abuse limits: per key, per address, and failed authentications per address (issue 14,
finding 5).

Goal: 300 wrong keys in a row answer 429 ``rate_limited`` with ``Retry-After`` after the
configured burst of failures (before: 300 times 401), and from then on the address is refused
before any key is checked; a key over its rate gets 429 while another key does not; an address
over its rate gets 429 whatever key it sends; ``/healthz`` is never limited; apps built without
limits (the tests' default) limit nothing. ``zeropools serve`` applies the limits by default.
Method: the token buckets on a fake clock; the app over a real database (both stores) with
limits whose refill is negligible during the test, so counts are exact; a real ``serve``.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from security_support import serving

from support import app_client, assert_problem, bearer, issue_operator_key, onboard, sqlite_url
from zeropools.api.app import create_app
from zeropools.domain.rate_limits import Buckets, Rate, RateLimits
from zeropools.services.context import Deployment

SLOW_REFILL = 0.0001  # tokens a second: nothing refills while a test runs


def test_a_bucket_refills_at_its_rate_up_to_its_burst_and_says_how_long_to_wait() -> None:
    buckets = Buckets(Rate(per_s=2, burst=3))
    assert [buckets.take("a", 0.0) for _ in range(3)] == [None, None, None]
    assert buckets.take("a", 0.0) == 1  # half a second to the next token: whole seconds
    assert buckets.take("a", 0.5) is None
    assert buckets.take("b", 0.5) is None  # another name, another bucket
    assert [buckets.take("a", 100.0) for _ in range(4)] == [None, None, None, 1]  # burst cap
    slow = Buckets(Rate(per_s=0.1, burst=1))
    assert slow.take("x", 0.0) is None and slow.take("x", 0.0) == 10


def test_charging_and_checking_failures_and_the_bound_on_names() -> None:
    failures = Buckets(Rate(per_s=1, burst=2), capacity=2)
    assert failures.empty("addr", 0.0) is None  # unknown: never failed
    failures.charge("addr", 0.0)
    failures.charge("addr", 0.0)
    failures.charge("addr", 0.0)  # no debt below zero
    assert failures.empty("addr", 0.0) == 1
    assert failures.empty("addr", 1.0) is None
    failures.charge("b", 1.0)
    failures.charge("c", 1.0)  # a third name: the least recently used ("addr") is dropped
    assert failures.empty("addr", 1.0) is None and len(failures._buckets) == 2


def _limited(dep: Deployment, limits: RateLimits) -> httpx.Client:
    from fastapi.testclient import TestClient

    return TestClient(create_app(dep, rate_limits=limits))


def test_300_wrong_keys_get_429_after_the_burst_of_failures(dep: Deployment) -> None:
    operator = issue_operator_key(dep)
    limits = RateLimits(auth_failures_per_address=Rate(SLOW_REFILL, 20))
    with _limited(dep, limits) as client:
        answers = [
            client.get("/v1/partners", headers=bearer(f"zpk_test_{n:040d}")) for n in range(300)
        ]
        right_key = client.get("/v1/partners", headers=bearer(operator.secret))
        health = client.get("/healthz")

    statuses = [answer.status_code for answer in answers]
    assert statuses == [401] * 20 + [429] * 280
    problem = assert_problem(answers[-1], 429, "rate_limited")
    assert "failed authentications" in problem["detail"]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert problem["request_id"] == answers[-1].headers["x-request-id"]
    # the address is refused before any key is checked: guessing is as slow as the refill
    assert_problem(right_key, 429, "rate_limited")
    assert health.status_code == 200


def test_a_key_over_its_rate_gets_429_and_another_key_does_not(dep: Deployment) -> None:
    new = onboard(dep)
    admin, server = (bearer(k.secret) for k in new.keys)
    with _limited(dep, RateLimits(per_key=Rate(SLOW_REFILL, 5))) as client:
        first = [client.get("/v1/capabilities", headers=admin).status_code for _ in range(6)]
        other = client.get("/v1/capabilities", headers=server)

    assert first == [200] * 5 + [429]
    assert other.status_code == 200


def test_an_address_over_its_rate_gets_429_whatever_key_it_sends(dep: Deployment) -> None:
    new = onboard(dep)
    keys = [bearer(k.secret) for k in new.keys]
    with _limited(dep, RateLimits(per_address=Rate(SLOW_REFILL, 10))) as client:
        statuses = [
            client.get("/v1/capabilities", headers=keys[n % 2]).status_code for n in range(12)
        ]
        health = client.get("/healthz")
    assert statuses == [200] * 10 + [429] * 2
    assert health.status_code == 200


def test_apps_built_without_limits_limit_nothing(dep: Deployment) -> None:
    with app_client(dep) as client:
        statuses = {
            client.get("/v1/partners", headers=bearer(f"zpk_test_{n:040d}")).status_code
            for n in range(300)
        }
    assert statuses == {401}


@pytest.mark.slow
def test_serve_limits_failed_authentications_by_default(tmp_path: Path) -> None:
    with serving(sqlite_url(tmp_path), tmp_path / "serve.log") as served:
        started = time.monotonic()
        with httpx.Client(base_url=served.base_url, timeout=60) as http:
            statuses = [
                http.get("/v1/partners", headers=bearer(f"zpk_test_{n:040d}")).status_code
                for n in range(300)
            ]
            last = http.get("/v1/partners", headers=bearer(f"zpk_test_{0:040d}"))
        elapsed_s = time.monotonic() - started

    assert set(statuses) == {401, 429}
    # the default: a burst of 20 failures, then one every 2 s (a bound, not a timing claim)
    assert statuses.count(401) <= 20 + int(elapsed_s * 0.5) + 1
    assert_problem(last, 429, "rate_limited")
    assert int(last.headers["retry-after"]) >= 1
