"""Which credential serves the next call: smooth weighted round-robin over active ones.

Each process keeps the SWRR state of every provider's pool (nginx's algorithm: every pick adds
each member's weight to its running score, takes the highest, and subtracts the total from
it), so the picks interleave evenly and follow the weights exactly over any window of
sum(weights) calls. Each process converges on its own, so the split is also right across
processes. The pool is reloaded when any credential changes anywhere (store.versions: another
process or the CLI may disable or add keys), as the process snapshot refresh sees it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib.config import settings
from chalicelib.credentials import crypto
from chalicelib.providers import registry
from chalicelib.providers.base import Credential, ProviderSpec
from chalicelib.store import providers as rows
from chalicelib.store.shared import store
from chalicelib.store.versions import Versioned

COOLDOWN_DIVISOR = 4  # a rate-limited credential keeps a quarter of its weight for a while


@dataclass(slots=True)
class Member:
    credential: Credential
    weight: int
    cooldown_until: int | None

    def effective_weight(self, now_ms: int) -> int:
        if self.cooldown_until and self.cooldown_until > now_ms:
            return max(1, self.weight // COOLDOWN_DIVISOR)
        return self.weight


@dataclass(slots=True)
class _Snapshot:
    members: dict[str, list[Member]]  # provider -> active members
    configured: set[str]  # providers with any credential row (active or not)


_scores: dict[str, int] = {}  # credential id -> SWRR running score, kept across reloads


def _load() -> _Snapshot:
    secret = settings().secret
    members: dict[str, list[Member]] = {}
    configured: set[str] = set()
    for row in rows.list_credentials(store(), with_secret=True):
        configured.add(row["provider"])
        if row["active"]:
            value = crypto.decrypt(secret, row["secret"], row["id"])
            members.setdefault(row["provider"], []).append(
                Member(Credential(row["id"], value), max(1, row["weight"]), row["cooldown_until"]))
    return _Snapshot(members, configured)


_snapshot = Versioned("credentials", _load)


def _current() -> _Snapshot:
    return _snapshot.get()


def swrr(members: list[Member], now_ms: int) -> Member:
    total = 0
    best: Member | None = None
    for member in members:
        weight = member.effective_weight(now_ms)
        total += weight
        score = _scores.get(member.credential.id, 0) + weight
        _scores[member.credential.id] = score
        if best is None or score > _scores[best.credential.id]:
            best = member
    assert best is not None
    _scores[best.credential.id] -= total
    return best


def cooling(credential_id: str) -> bool:
    now = int(time.time() * 1000)
    return any(m.credential.id == credential_id and (m.cooldown_until or 0) > now
               for members in _current().members.values() for m in members)


def pick(spec: ProviderSpec, exclude: set[str] = frozenset()) -> Credential | None:  # type: ignore[assignment]
    """The next credential of a provider, or None when none is left to try.

    The database's credentials when it has any for the provider; otherwise the environment
    fallback (a provider that needs no key gets a keyless credential)."""
    snap = _current()
    if spec.name in snap.configured:
        members = [m for m in snap.members.get(spec.name, ()) if m.credential.id not in exclude]
        return swrr(members, int(time.time() * 1000)).credential if members else None
    fallback = registry.env_credential(spec, settings())
    return fallback if fallback is not None and fallback.id not in exclude else None


def active_count(spec: ProviderSpec) -> int:
    snap = _current()
    if spec.name in snap.configured:
        return len(snap.members.get(spec.name, ()))
    return int(registry.env_credential(spec, settings()) is not None)
