"""Retries and failover: try the plan's credentials and providers until one answers.

Bounded in attempts and in total time. A retryable failure (see credentials/health.py) moves
to another credential of the same provider, then to the next provider of a bare model name;
a pinned `provider/model` never leaves its provider. Between two tries of one provider a short
jittered backoff lets a struggling provider breathe. Streams come here only to be opened, so
nothing is retried once the first byte has reached the client.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from chalicelib.config import settings
from chalicelib.credentials import health, pool
from chalicelib.errors import ApiError
from chalicelib.gateway.resolve import Plan
from chalicelib.providers import registry
from chalicelib.providers.base import Adapter, Target, UpstreamError

T = TypeVar("T")
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 1.0


def max_attempts() -> int:
    return int(settings().env.get("AIHUB_MAX_ATTEMPTS") or 4)


def budget_s() -> float:
    return float(settings().env.get("AIHUB_RETRY_BUDGET_S") or 30)


def targets(plan: Plan, tried: set[str]) -> Iterator[Target]:
    """Each route's credentials in SWRR order, skipping those already tried."""
    for spec, model in plan.routes:
        while (credential := pool.pick(spec, tried)) is not None:
            tried.add(credential.id)
            yield Target(spec, model, credential)


def no_credential_left(plan: Plan) -> ApiError:
    names = ", ".join(spec.name for spec, _ in plan.routes)
    return ApiError(503, f"No active credential is left to serve '{plan.model}' ({names}).",
                    code="no_active_credential", type="api_error")


async def run(
    plan: Plan,
    invoke: Callable[[Adapter, Target], Awaitable[T]],
    on_attempt: Callable[[Target, UpstreamError | None, float], None],
) -> T:
    started = time.monotonic()
    last_error: ApiError | None = None
    previous: Target | None = None
    for number, target in enumerate(targets(plan, set())):
        if number >= max_attempts() or (number and time.monotonic() - started > budget_s()):
            break
        if previous is not None and previous.provider.name == target.provider.name:
            await asyncio.sleep(min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (number - 1)) * random.uniform(0.5, 1.0))
        previous = target
        began = time.perf_counter()
        try:
            result = await invoke(registry.adapter(target.provider.kind), target)
        except UpstreamError as error:
            on_attempt(target, error, began)
            if not health.after_failure(target, error):
                raise
            last_error = error
            continue
        on_attempt(target, None, began)
        health.after_success(target)
        return result
    raise last_error or no_credential_left(plan)
