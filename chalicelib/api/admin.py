"""Wire models of the admin API."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    credits: float | None = Field(default=None, ge=0)
    role: Literal["user", "admin"] = "user"
    account_id: str | None = None
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)


class ProviderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connect_timeout: float | None = Field(default=None, gt=0, le=600)
    read_timeout: float | None = Field(default=None, gt=0, le=3600)
    models: list[str] | None = None
    model_map: dict[str, str] | None = None
    headers: dict[str, str] | None = None


class ProviderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=200)
    kind: str | None = None
    base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    region: str | None = Field(default=None, max_length=50)
    enabled: bool | None = None
    config: ProviderConfig | None = None


class ProviderCreate(ProviderUpdate):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: str


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    value: str | dict[str, str] = Field(min_length=1)
    type: Literal["api_key", "aws", "json"] | None = None
    weight: int = Field(default=1, ge=1, le=1000)
    check: bool = True


class CredentialUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    value: str | dict[str, str] | None = Field(default=None, min_length=1)
    weight: int | None = Field(default=None, ge=1, le=1000)
    active: bool | None = None
