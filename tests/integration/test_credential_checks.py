"""The live check of a new credential, for each native provider (each has its own cheap call)."""
from __future__ import annotations

import pytest

from tests.fakes import bedrock


def add(admin, provider: str, value, check: bool = True):
    return admin.post(f"/admin/providers/{provider}/credentials", json={"value": value, "check": check})


@pytest.mark.parametrize(
    ("provider", "path", "bad_status"),
    [("anthropic", "/v1/models", 401), ("google", "/v1beta/models", 403)],
)
def test_http_providers_check_by_listing_models(provider, path, bad_status, admin, fake):
    fake.route("GET", path, json={"data": [], "models": []})
    ok = add(admin, provider, f"{provider}-key-000000000001")
    assert ok.status_code == 201 and ok.json()["active"] is True
    assert fake.requests[-1].path == path
    fake.route("GET", path, status=bad_status, json={"error": {"message": "invalid x-api-key", "type": "authentication_error"}})
    refused = add(admin, provider, f"{provider}-key-000000000002")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "credential_check_failed"
    admin.delete(f"/admin/credentials/{ok.json()['id']}")


def test_bedrock_check_passes_validation_errors_and_fails_auth_errors(admin, fake):
    keys = {"access_key_id": "AKIACHECK0000001", "secret_access_key": "check-secret-000000000000"}
    bedrock.route(fake, "converse", error=(400, "ValidationException", "The messages field is empty"))
    ok = add(admin, "bedrock", keys)
    assert ok.status_code == 201 and ok.json()["type"] == "aws" and "AKIA" in ok.json()["masked"]
    assert fake.requests[-1].json["messages"] == []  # nothing the model could answer: no tokens spent
    bedrock.route(fake, "converse", error=(403, "AccessDeniedException", "not authorized"))
    refused = add(admin, "bedrock", {**keys, "access_key_id": "AKIACHECK0000002"})
    assert refused.status_code == 400 and "not authorized" in refused.json()["error"]["message"]
    assert add(admin, "bedrock", "not-a-key-pair").status_code == 400  # an AWS credential is a pair
    admin.delete(f"/admin/credentials/{ok.json()['id']}")


def test_ideogram_has_no_free_check_so_the_key_is_taken_on_trust(admin, fake):
    ok = add(admin, "ideogram", "ideogram-key-00000000001")
    assert ok.status_code == 201 and ok.json()["active"] is True
    assert fake.requests == []  # nothing was generated (and paid for) to test it
    admin.delete(f"/admin/credentials/{ok.json()['id']}")
