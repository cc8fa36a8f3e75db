"""AIHUB_SECRET_ID / AIHUB_ADMIN_KEY_ID: secrets read from Secrets Manager; rotation with AWSPREVIOUS."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib import config
from chalicelib.credentials import crypto

OLD, NEW = "o" * 40, "n" * 40


@pytest.fixture
def secretsmanager(monkeypatch):
    client = boto3.session.Session().client("secretsmanager", region_name="us-east-1",
                                             aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    monkeypatch.setattr(boto3.session.Session, "client", lambda self, *a, **k: client)
    with stub:
        yield stub


def test_secrets_come_from_secrets_manager(secretsmanager):
    secretsmanager.add_response("get_secret_value", {"SecretString": "admin-token-0123456789-0123456789abcdef"},
                                {"SecretId": "aihub/prod/admin-key", "VersionStage": "AWSCURRENT"})
    secretsmanager.add_response("get_secret_value", {"SecretString": NEW},
                                {"SecretId": "aihub/prod/master-secret", "VersionStage": "AWSCURRENT"})
    cfg = config.from_env({"AIHUB_DB": "/mnt/aihub/aihub.db", "AIHUB_SECRET_ID": "aihub/prod/master-secret",
                           "AIHUB_ADMIN_KEY_ID": "aihub/prod/admin-key"})
    assert cfg.secret == NEW and cfg.admin_key == "admin-token-0123456789-0123456789abcdef"
    secretsmanager.assert_no_pending_responses()


def test_plain_variables_win_and_boto3_is_not_asked(secretsmanager):
    admin = "admin-token-from-the-environment-0123456789"
    cfg = config.from_env({"AIHUB_SECRET": NEW, "AIHUB_SECRET_ID": "x", "AIHUB_ADMIN_KEY": admin,
                           "AIHUB_ADMIN_KEY_ID": "y"})
    assert cfg.secret == NEW and cfg.admin_key == admin


def test_rotation_old_ciphertexts_still_decrypt_then_get_resealed(local_env, secretsmanager):
    local_env({"AIHUB_SECRET": NEW, "AIHUB_SECRET_ID": "aihub/prod/master-secret"})
    old_token = crypto.encrypt(OLD, "sk-provider-key", "cred-1")
    secretsmanager.add_response("get_secret_value", {"SecretString": OLD},
                                {"SecretId": "aihub/prod/master-secret", "VersionStage": "AWSPREVIOUS"})
    assert crypto.decrypt(NEW, old_token, "cred-1") == "sk-provider-key"
    resealed = crypto.rekey(NEW, OLD, old_token, "cred-1")
    assert resealed and crypto.decrypt_with(NEW, resealed, "cred-1") == "sk-provider-key"
    assert crypto.rekey(NEW, OLD, resealed, "cred-1") is None  # already current
    assert crypto.rekey(NEW, OLD, crypto.encrypt("x" * 40, "v", "cred-1"), "cred-1") is None  # unknown: untouched


def test_no_previous_version_yet(local_env, secretsmanager):
    local_env({"AIHUB_SECRET": NEW, "AIHUB_SECRET_ID": "aihub/prod/master-secret"})
    secretsmanager.add_client_error("get_secret_value", service_error_code="ResourceNotFoundException",
                                    expected_params={"SecretId": "aihub/prod/master-secret", "VersionStage": "AWSPREVIOUS"})
    assert config.previous_secret() is None


def test_maintenance_reseals_what_the_old_secret_sealed(local_env, secretsmanager):
    from chalicelib.handlers.maintenance import rekey_credentials
    from chalicelib.store import providers as rows
    from chalicelib.store.shared import store

    local_env({"AIHUB_SECRET": NEW, "AIHUB_SECRET_PREVIOUS": OLD})
    rows.insert_credential(store(), {"id": "cred-9", "provider": "openai", "name": "k", "type": "api_key",
                                     "secret": crypto.encrypt(OLD, "sk-9", "cred-9"), "masked": "sk-...9",
                                     "weight": 1, "active": 1, "created_at": 0, "updated_at": 0})
    assert rekey_credentials() == 1 and rekey_credentials() == 0
    (row,) = rows.list_credentials(store(), with_secret=True)
    assert crypto.decrypt_with(NEW, row["secret"], "cred-9") == "sk-9"


def test_maintenance_reseals_provider_headers_too(local_env, secretsmanager):
    from chalicelib.credentials import sealed_headers
    from chalicelib.handlers.maintenance import rekey_credentials
    from chalicelib.store import providers as rows
    from chalicelib.store.shared import store

    local_env({"AIHUB_SECRET": NEW, "AIHUB_SECRET_PREVIOUS": OLD})
    old = crypto.encrypt(OLD, {"x-org": "org-123456789"}, sealed_headers.bound_to("mine"))
    rows.upsert_provider(store(), "mine", {"kind": "openai", "config": {"headers": {"x-org": "org-...6789"}},
                                           "sealed_headers": old})
    assert rekey_credentials() == 1 and rekey_credentials() == 0
    resealed = rows.get_provider(store(), "mine")["sealed_headers"]
    assert crypto.decrypt_with(NEW, resealed, sealed_headers.bound_to("mine")) == {"x-org": "org-123456789"}
