"""A provider credential never survives in a provider's error text, whatever form it is echoed in."""
from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import orjson
import pytest

from chalicelib.credentials.redact import REDACTED, WITHHELD, redact
from chalicelib.providers import errors
from chalicelib.providers.base import Credential
from chalicelib.providers.openai_compat import translate

KEY = "sk-proj-Abc123xyz/+Def456=GhiJKL789"


def b64(data: str) -> str:
    return base64.b64encode(data.encode()).decode()


def urlsafe(data: str) -> str:
    return base64.urlsafe_b64encode(data.encode()).decode()


def middle(encoded: str, skip_start: int, skip_end: int) -> str:
    """The part of an encoding that comes from the key alone (its ends mix in other bytes)."""
    return encoded[skip_start:len(encoded) - skip_end]


# (id, the echo in the provider's message, a part of it that must not survive)
ECHOES = [
    ("exact", KEY, KEY),
    ("upper case", KEY.upper(), KEY.upper()),
    ("lower case", KEY.lower(), KEY.lower()),
    ("base64", b64(KEY), middle(b64(KEY), 0, 2)),
    ("base64 urlsafe", urlsafe(KEY), middle(urlsafe(KEY), 0, 2)),
    ("basic user:key", b64("user:" + KEY), middle(b64("user:" + KEY), 8, 2)),
    ("basic ab:key", b64("ab:" + KEY), middle(b64("ab:" + KEY), 4, 2)),
    ("basic a:key", b64("a:" + KEY), middle(b64("a:" + KEY), 4, 2)),
    ("basic key: urlsafe", urlsafe(KEY + ":"), middle(urlsafe(KEY + ":"), 0, 4)),
    ("hex", KEY.encode().hex(), KEY.encode().hex()),
    ("hex upper", KEY.encode().hex().upper(), KEY.encode().hex().upper()),
    ("url-encoded", quote(KEY, safe=""), quote(KEY, safe="")),
    ("form-encoded", quote_plus(KEY), quote_plus(KEY)),
    ("first 8", KEY[:8] + "****", KEY[:8]),
    ("first 12", KEY[:12] + "...", KEY[:12]),
    ("last 9", "..." + KEY[-9:], KEY[-9:]),
    ("a middle run", "(" + KEY[10:19] + ")", KEY[10:19]),
    ("in a sentence", f"Incorrect API key provided: {KEY}. See docs.", KEY),
    ("twice", f"{KEY} and {KEY.upper()}", KEY[4:12]),
]


@pytest.mark.parametrize(("echo", "secret_part"), [(e, p) for _, e, p in ECHOES], ids=[i for i, _, _ in ECHOES])
def test_every_form_of_the_key_is_redacted(echo, secret_part):
    text = f"Upstream said: {echo} (request abc)"
    out = redact(text, [KEY])
    assert secret_part.lower() not in out.lower()
    assert out.startswith("Upstream said: ") and out.endswith(" (request abc)")
    assert REDACTED in out or "sk-p...L789" in out


def test_the_whole_key_shows_as_its_masked_form():
    assert redact(f"bad key {KEY}", [KEY]) == "bad key sk-p...L789"


@pytest.mark.parametrize("text", ["model not found", "rate limit: 10 requests per minute for gpt-4o",
                                  "sk-proj- is a prefix", "Abc123"])
def test_text_without_the_key_is_untouched(text):
    assert redact(text, [KEY]) == text.replace("sk-proj-", REDACTED)


@pytest.mark.parametrize(("secret", "text", "expected"), [
    ("abc123", "key ABC123 rejected", WITHHELD),  # too short to tell from words: withheld whole
    ("abc123", "model not found", "model not found"),
    ("", "anything", "anything"),
])
def test_short_secrets_withhold_the_message(secret, text, expected):
    assert redact(text, [secret]) == expected


def test_aws_credentials_every_field():
    secret = {"access_key_id": "AKIAEXAMPLE0123456", "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    text = f"sig for {secret['access_key_id'].lower()} with {b64(secret['secret_access_key'])}"
    out = errors.scrub(text, Credential("cred_1", secret))
    assert "akiaexample" not in out.lower() and b64(secret["secret_access_key"])[:30] not in out


def test_provider_error_bodies_are_scrubbed():
    body = orjson.dumps({"error": {"message": f"Invalid key {b64('x:' + KEY)} / {KEY[:10]}", "code": "bad_key"}})
    error = errors.from_status("openai", 401, body, Credential("cred_1", KEY))
    assert KEY[:10] not in error.message and middle(b64("x:" + KEY), 4, 2) not in error.message


def test_mid_stream_errors_are_scrubbed():
    state = translate.StreamState("openai", False, Credential("cred_1", KEY))
    translate.translate_event(state, orjson.dumps({"error": {"message": f"key {KEY.upper()} revoked"}}))
    assert state.error is not None and KEY.upper() not in state.error.message and "revoked" in state.error.message
