"""Which calls a query covers: an account (or all) and exact matches on the other dimensions."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

DIMENSIONS = ("account_id", "key_id", "provider", "model", "type", "app_id")  # of a call: what a query filters and groups on
# The dimensions of each group_by name.
GROUPS: dict[str, tuple[str, ...]] = {
    "account": ("account_id",),
    "key": ("key_id",),
    "provider": ("provider",),
    "model": ("provider", "model"),  # a model name means different things at different providers
    "type": ("type",),
    "app": ("app_id",),  # the AIGNE client's app (x-aigne-hub-client-did)
}
CALL_TYPES = ("chat", "embedding", "image", "video", "moderation", "audio")
STATUSES = ("success", "failed")


@dataclass(frozen=True, slots=True)
class Scope:
    # One field per DIMENSIONS entry, same names.
    account_id: str | None = None  # None: every account (admin routes only)
    key_id: str | None = None
    provider: str | None = None
    model: str | None = None
    type: str | None = None
    app_id: str | None = None

    def filtered(self) -> set[str]:
        """The columns this scope matches on."""
        return {f.name for f in fields(self) if getattr(self, f.name) is not None}

    def where(self) -> tuple[list[str], list[Any]]:
        """SQL conditions (column = ?) and their parameters; the columns exist in both tables."""
        clauses: list[str] = []
        values: list[Any] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                clauses.append(f"{f.name} = ?")
                values.append(value)
        return clauses, values


def group_columns(groups: tuple[str, ...]) -> tuple[str, ...]:
    """The columns of some group_by names, each once, in a fixed order."""
    wanted = {column for name in groups for column in GROUPS[name]}
    return tuple(c for c in DIMENSIONS if c in wanted)
