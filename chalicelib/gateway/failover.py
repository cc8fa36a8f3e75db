"""Retries and failover: try the plan's credentials and providers until one answers.

Bounded in attempts and in total time. A retryable failure (see credentials/health.py) moves
to another credential of the same provider, then to the next provider of a bare model name;
a pinned `provider/model` never leaves its provider. Only after a provider said it is
overloaded (503, 529) does its next try wait a short jittered backoff: other failures belong to
one credential or connection, and a healthy key should be asked at once (measured: the old
unconditional backoff added ~45 ms to p99 with one flaky key in five). Streams come here only to
be opened, so nothing is retried once the first byte has reached the client.
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
from chalicelib.providers.base import Adapter, ProviderSpec, Target, UpstreamError

T = TypeVar("T")
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 1.0
OVERLOADED = {503, 529}


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


def how_to_add_credential(spec: ProviderSpec) -> str:
    """The three ways to give a provider a credential, for a first run's error."""
    ways = [f"set {spec.key_env} in the server's environment"] if spec.key_env else []
    ways += [f"run `aihub credentials add {spec.name} --value -` (the key on stdin)",
             "or add one on the Providers page of the web UI"]
    return f"To add one for {spec.name}: " + ", ".join(ways) + "."


def no_credential_left(plan: Plan) -> ApiError:
    names = ", ".join(spec.name for spec, _ in plan.routes)
    unserved = [spec for spec, _ in plan.routes if pool.active_count(spec) == 0]
    if len(unserved) == len(plan.routes):
        # Nothing to retry: a configuration problem. x-should-retry stops the OpenAI and
        # Anthropic SDKs from retrying a 503 before the user sees this message.
        return ApiError(503, f"No active credential for '{plan.model}' ({names}). {how_to_add_credential(unserved[0])}",
                        code="no_active_credential", type="api_error", headers={"x-should-retry": "false"})
    return ApiError(503, f"No active credential is left to serve '{plan.model}' ({names}).",
                    code="no_active_credential", type="api_error")


async def run(
    plan: Plan,
    invoke: Callable[[Adapter, Target], Awaitable[T]],
    on_attempt: Callable[[Target, UpstreamError | None, float], None],
) -> T:
    started = time.monotonic()
    last_error: UpstreamError | None = None
    overloaded: str | None = None  # the provider that last said it was overloaded
    for number, target in enumerate(targets(plan, set())):
        if number >= max_attempts() or (number and time.monotonic() - started > budget_s()):
            break
        if overloaded == target.provider.name:
            await asyncio.sleep(min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (number - 1)) * random.uniform(0.5, 1.0))
        began = time.perf_counter()
        try:
            result = await invoke(registry.adapter(target.provider.kind), target)
        except UpstreamError as error:
            on_attempt(target, error, began)
            if not health.after_failure(target, error):
                raise
            last_error = error
            overloaded = target.provider.name if error.upstream_status in OVERLOADED else None
            continue
        on_attempt(target, None, began)
        health.after_success(target)
        return result
    raise last_error or no_credential_left(plan)
