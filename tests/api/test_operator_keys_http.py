"""Operator keys: listed without secrets, issued once, and never all revoked.

Goal: ``GET /v1/operator-keys`` lists operator keys with ``last4`` and ``last_used_at`` (no
secret); ``POST /v1/operator-keys`` issues one, shown once, that works; revoking the only active
operator key is refused with 409 ``last_operator_key`` (nobody can lock the platform out), while
revoking one of two works and the revoked key is then refused.
Method: the app over a real database (both stores), through HTTP.
"""

from __future__ import annotations

from support import app_client, assert_problem, bearer, issue_operator_key, onboard
from zeropools.services.context import Deployment


def test_operator_keys_are_listed_without_secrets_and_show_their_last_use(
    dep: Deployment,
) -> None:
    issued = issue_operator_key(dep)
    with app_client(dep) as client:
        listed = client.get("/v1/operator-keys", headers=bearer(issued.secret))

    assert listed.status_code == 200
    [key] = listed.json()["data"]
    assert key["id"] == issued.key.id and key["role"] == "operator"
    assert key["last4"] == issued.secret[-4:]
    assert key["last_used_at"] is not None  # this very request used it
    assert issued.secret not in listed.text and "secret" not in key


def test_a_new_operator_key_is_shown_once_and_works(dep: Deployment) -> None:
    first = issue_operator_key(dep)
    with app_client(dep) as client:
        created = client.post("/v1/operator-keys", headers=bearer(first.secret))
        secret = created.json()["secret"]
        used = client.get("/v1/partners", headers=bearer(secret))
        listed = client.get("/v1/operator-keys", headers=bearer(first.secret))

    assert created.status_code == 201 and secret.startswith("zpk_test_")
    assert used.status_code == 200
    assert [k["id"] for k in listed.json()["data"]] == [created.json()["id"], first.key.id]
    assert secret not in listed.text


def test_the_last_active_operator_key_cannot_be_revoked(dep: Deployment) -> None:
    only = issue_operator_key(dep)
    with app_client(dep) as client:
        refused = client.delete(f"/v1/api-keys/{only.key.id}", headers=bearer(only.secret))
        still = client.get("/v1/partners", headers=bearer(only.secret))

    problem = assert_problem(refused, 409, "last_operator_key")
    assert problem["key_id"] == only.key.id
    assert still.status_code == 200


def test_one_of_two_operator_keys_can_be_revoked_and_is_then_refused(dep: Deployment) -> None:
    first, second = issue_operator_key(dep), issue_operator_key(dep)
    with app_client(dep) as client:
        revoked = client.delete(f"/v1/api-keys/{first.key.id}", headers=bearer(second.secret))
        after = client.get("/v1/partners", headers=bearer(first.secret))
        last = client.delete(f"/v1/api-keys/{second.key.id}", headers=bearer(second.secret))

    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_problem(after, 401, "unauthenticated")
    assert_problem(last, 409, "last_operator_key")


def test_partner_keys_may_not_list_or_issue_operator_keys(dep: Deployment) -> None:
    new = onboard(dep)
    admin = bearer(next(k.secret for k in new.keys if k.key.role == "partner_admin"))
    with app_client(dep) as client:
        listed = client.get("/v1/operator-keys", headers=admin)
        created = client.post("/v1/operator-keys", headers=admin)

    assert_problem(listed, 403, "forbidden")
    assert_problem(created, 403, "forbidden")
