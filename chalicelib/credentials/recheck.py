"""Live checks of credentials: on add, on demand, and in the background for disabled ones."""
from __future__ import annotations

import asyncio
import logging

from chalicelib.config import settings
from chalicelib.credentials import crypto, health
from chalicelib.errors import ApiError
from chalicelib.gateway import catalog
from chalicelib.providers import registry
from chalicelib.providers.base import Credential, ProviderSpec, Target
from chalicelib.store import providers as rows
from chalicelib.store.shared import store

log = logging.getLogger("aihub.credentials")


async def check(spec: ProviderSpec, credential: Credential) -> str | None:
    """None when the credential works; else why not, in words fit for an operator."""
    try:
        await registry.adapter(spec.kind).check(Target(spec, "", credential))
    except ApiError as error:
        return error.message
    return None


async def check_row(row: dict) -> str | None:
    spec = catalog.providers(include_disabled=True).get(row["provider"])
    if spec is None:
        return f"provider {row['provider']} is unknown"
    credential = Credential(row["id"], crypto.decrypt(settings().secret, row["secret"], row["id"]))
    return await check(spec, credential)


async def recheck_due() -> int:
    """Re-check every disabled credential whose backoff has run out; returns how many."""
    due = rows.due_for_recheck(store(), rows.now_ms())
    for row in due:
        reason = await check_row(row)
        if reason is None:
            health.restore(row["id"])
            log.info("credential %s works again: restored", row["id"])
        else:
            health.disable(row["id"], reason)
    return len(due)


async def run_forever() -> None:
    """The background loop of the long-running server (Lambda uses a scheduled function)."""
    interval = float(settings().env.get("AIHUB_RECHECK_INTERVAL_S") or 5)
    while True:
        await asyncio.sleep(interval)
        try:
            await recheck_due()
        except Exception:
            log.exception("credential re-check failed")
