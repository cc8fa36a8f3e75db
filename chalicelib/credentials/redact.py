"""Taking a provider credential out of text a provider wrote (its error messages).

A provider may echo the key it was sent in any form: whole, in another case, base64 (alone or
inside `user:key` of Basic auth), hex, URL-encoded, or cut short ("sk-proj-abcd****"). So
every run of MIN_ECHO or more characters that also occurs in one of those forms of the secret
is redacted, wherever it appears and whatever its case. An echo of the whole secret shows as
its masked form (store.keys.mask), so an operator can still tell keys apart.

A secret shorter than MIN_ECHO cannot be told from ordinary words that way: when it appears
in the text at all, the whole text is withheld.
"""
from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from chalicelib.store.keys import mask

MIN_ECHO = 8
REDACTED = "[redacted]"
WITHHELD = "(the provider's message is withheld: it may contain the gateway's credential)"


def _base64_cores(raw: bytes) -> list[str]:
    """The base64 characters that depend on `raw` alone, at each of the 3 byte alignments it can
    have inside a longer text: any base64 of a text containing `raw` contains one of these."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + raw).decode()
        first = -(-8 * shift // 6)  # the first character with no bit of the bytes before
        last = 8 * (shift + len(raw)) // 6  # past the last character with no bit of the bytes after
        core = encoded[first:last]
        cores += [core, core.translate(str.maketrans("+/", "-_"))]
    return cores


def forms(secret: str) -> set[str]:
    """The secret as a provider might write it back, lower-cased (matching ignores case)."""
    raw = secret.encode()
    found = {secret, raw.hex(), quote(secret, safe=""), quote_plus(secret), *_base64_cores(raw)}
    return {f.lower() for f in found if len(f) >= MIN_ECHO}


def _echo_spans(text: str, grams: set[str]) -> list[tuple[int, int]]:
    """Maximal [start, end) runs of `text` covered by MIN_ECHO-character pieces of a form."""
    lowered = text.lower()
    spans: list[tuple[int, int]] = []
    for start in range(len(text) - MIN_ECHO + 1):
        if lowered[start:start + MIN_ECHO] in grams:
            end = start + MIN_ECHO
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


def redact(text: str, secrets: Iterable[str]) -> str:
    long_ones = []
    for secret in secrets:
        if not secret:
            continue
        if len(secret) < MIN_ECHO:
            if secret.lower() in text.lower():
                return WITHHELD
            continue
        long_ones.append(secret)
    if not long_ones:
        return text
    grams = {f[i:i + MIN_ECHO] for s in long_ones for f in forms(s) for i in range(len(f) - MIN_ECHO + 1)}
    whole = {s.lower(): s for s in long_ones}
    out, done = [], 0
    for start, end in _echo_spans(text, grams):
        echo = text[start:end]
        out += [text[done:start], mask(whole[echo.lower()]) if echo.lower() in whole else REDACTED]
        done = end
    out.append(text[done:])
    return "".join(out)
