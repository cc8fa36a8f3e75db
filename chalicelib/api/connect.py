"""Wire model of the approval the web UI sends for `aigne hub connect`."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)  # the page's `__token__`: base64url of the session id
    appName: str | None = Field(default=None, max_length=100)  # what the CLI calls itself; names the key
