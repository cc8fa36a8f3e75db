"""GET /v1/models in Anthropic's shape (the OpenAI route serves both): one page of the list.

Its own module so the OpenAI handlers load without the whole Anthropic Messages schema.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelsQuery(BaseModel):
    """The page: at most `limit` models after or before a model id."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=20, ge=1, le=1000)
    after_id: str | None = None
    before_id: str | None = None
