"""Wire models of OpenAI's Videos API (`POST /v1/videos`), as aihub accepts it."""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_SECONDS = 60
_SIZE = re.compile(r"^\d{2,5}x\d{2,5}$")


class VideoCreateRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    prompt: str = Field(min_length=1, max_length=32_000)
    seconds: str | int | float | None = None  # OpenAI's API takes a string: "4"
    size: str | None = None
    n: int | None = Field(default=None, ge=1, le=4)

    @field_validator("seconds")
    @classmethod
    def _seconds(cls, value: str | int | float | None) -> str | int | float | None:
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise ValueError('must be a number of seconds, e.g. "4"') from None
        if not 0 < number <= MAX_SECONDS:
            raise ValueError(f"must be more than 0 and at most {MAX_SECONDS}")
        return value

    @field_validator("size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None and not _SIZE.match(value):
            raise ValueError("must be WIDTHxHEIGHT, e.g. 1280x720")
        return value
