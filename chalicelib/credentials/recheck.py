"""Live checks of credentials: on add, on demand, and in the background for disabled ones."""
from __future__ import annotations

import logging

from chalicelib.config import settings
from chalicelib.credentials import crypto, health
from chalicelib.errors import ApiError
from chalicelib.gateway import catalog
from chalicelib.providers import registry
from chalicelib.providers.base import Credential, ProviderSpec, Target, Uncheckable
from chalicelib.store import providers as rows
from chalicelib.store.shared import store

log = logging.getLogger("aihub.credentials")


async def verify(spec: ProviderSpec, credential: Credential) -> tuple[bool, str | None]:
    """(tested, why it fails): (True, None) works; (False, None) the provider has no free test."""
    try:
        await registry.adapter(spec.kind).check(Target(spec, "", credential))
    except Uncheckable:
        return False, None
    except ApiError as error:
        return True, error.message
    return True, None


async def check(spec: ProviderSpec, credential: Credential) -> str | None:
    """None when the credential works (or cannot be tested: traffic will tell); else why not,
    in words fit for an operator."""
    return (await verify(spec, credential))[1]


async def verify_row(row: dict) -> tuple[bool, str | None]:
    spec = catalog.providers(include_disabled=True).get(row["provider"])
    if spec is None:
        return True, f"provider {row['provider']} is unknown"
    credential = Credential(row["id"], crypto.decrypt(settings().secret, row["secret"], row["id"]))
    return await verify(spec, credential)


async def check_row(row: dict) -> str | None:
    return (await verify_row(row))[1]


async def recheck_due() -> int:
    """Re-check every disabled credential whose backoff has run out; returns how many."""
    due = rows.due_for_recheck(store(), rows.now_ms())
    for row in due:
        tested, reason = await verify_row(row)
        if reason is None:
            # Untestable keys come back on probation: their failure count stands, so the next
            # failure takes them out for longer.
            health.restore(row["id"], keep_failures=not tested)
            log.info("credential %s restored (%s)", row["id"], "tested" if tested else "untested")
        else:
            health.disable(row["id"], reason)
    return len(due)
