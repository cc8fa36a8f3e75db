"""Encryption at rest, smooth weighted round-robin, and the failure policy (table-driven)."""
from __future__ import annotations

import collections

import pytest

from chalicelib.credentials import crypto, health, pool
from chalicelib.errors import ApiError
from chalicelib.providers import errors
from chalicelib.providers.base import Credential, ProviderSpec, Target, UpstreamError

SECRET = "x" * 40


@pytest.mark.parametrize("value", ["sk-live-abcdef0123456789", {"access_key_id": "AKIA1", "secret_access_key": "s"}])
def test_encrypt_round_trip_and_binding(value, local_env):
    local_env({})  # no previous secret to fall back on
    token = crypto.encrypt(SECRET, value, "cred_1")
    assert token.startswith("v1:")
    assert "abcdef0123456789" not in token and "AKIA1" not in token
    assert crypto.decrypt(SECRET, token, "cred_1") == value
    assert crypto.encrypt(SECRET, value, "cred_1") != token  # a fresh nonce every time
    with pytest.raises(ApiError):  # copied onto another row: refused
        crypto.decrypt(SECRET, token, "cred_2")
    with pytest.raises(ApiError):  # another master secret: refused
        crypto.decrypt("y" * 40, token, "cred_1")


@pytest.mark.parametrize("secret", [None, "", "short"])
def test_missing_or_short_secret_is_a_clear_error(secret):
    with pytest.raises(crypto.SecretMissing) as info:
        crypto.encrypt(secret, "v", "cred_1")
    assert info.value.status == 503 and "AIHUB_SECRET" in info.value.message


def _members(*weights: int, cooldown: dict[int, int] | None = None) -> list[pool.Member]:
    return [pool.Member(Credential(f"cred_{i}", None), w, (cooldown or {}).get(i)) for i, w in enumerate(weights)]


@pytest.mark.parametrize(
    ("weights", "picks", "expected"),
    [
        ((3, 1), 400, {"cred_0": 300, "cred_1": 100}),
        ((1, 1, 1), 9, {"cred_0": 3, "cred_1": 3, "cred_2": 3}),
        ((5, 1, 1), 70, {"cred_0": 50, "cred_1": 10, "cred_2": 10}),
        ((1,), 5, {"cred_0": 5}),
    ],
)
def test_swrr_splits_exactly_by_weight(weights, picks, expected):
    pool._scores.clear()
    members = _members(*weights)
    counts = collections.Counter(pool.swrr(members, 0).credential.id for _ in range(picks))
    assert dict(counts) == expected


def test_swrr_interleaves_rather_than_bursts():
    pool._scores.clear()
    members = _members(3, 1)
    sequence = [pool.swrr(members, 0).credential.id[-1] for _ in range(8)]
    assert sequence == list("00100010")


def test_cooldown_lowers_weight_until_it_ends():
    pool._scores.clear()
    members = _members(8, 2, cooldown={0: 1_000})
    during = collections.Counter(pool.swrr(members, 500).credential.id for _ in range(40))
    assert during == {"cred_0": 20, "cred_1": 20}  # 8 // 4 = 2 while cooling down
    pool._scores.clear()
    after = collections.Counter(pool.swrr(members, 2_000).credential.id for _ in range(40))
    assert after == {"cred_0": 32, "cred_1": 8}


@pytest.mark.parametrize(
    ("status", "upstream_status", "retry"),
    [
        (502, 401, True), (502, 403, True), (502, 402, True), (429, 429, True), (502, 500, True),
        (503, 503, True), (503, 529, True), (504, None, True), (502, None, True),
        (400, 400, False), (404, 404, False), (422, 422, False), (413, 413, False),
    ],
)
def test_retryable(status, upstream_status, retry):
    error = UpstreamError(status, "x", upstream_status=upstream_status)
    assert health.retryable(error) is retry


def test_a_full_gateway_pool_is_neither_retried_nor_held_against_the_credential(local_env):
    local_env({})
    target = Target(ProviderSpec("p", "openai", "http://x"), "m", Credential("cred_1", "sk-secret-value"))
    busy = errors.gateway_busy("p")
    assert (busy.status, busy.code, busy.upstream_status) == (503, "gateway_busy", None)
    assert health.after_failure(target, busy) is False  # every credential waits on the same pool


@pytest.mark.parametrize(("fails", "seconds"), [(1, 5), (2, 10), (3, 20), (20, 6 * 3600)])
def test_recheck_backoff_doubles_and_caps(fails, seconds, local_env):
    local_env({})
    assert health.backoff_s(fails) == seconds
