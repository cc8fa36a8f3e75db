"""Wire models of the admin API."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool


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
    responses_api: StrictBool | None = None  # the endpoint serves OpenAI's /responses itself


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


class KeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    daily_cap: float | None = Field(default=None, ge=0)  # credits
    monthly_cap: float | None = Field(default=None, ge=0)
    expires_at: int | None = Field(default=None, ge=0)  # epoch ms


NonNegative = Field(default=None, ge=0)


class RateFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["chat", "embedding", "image", "video", "audio"] | None = None
    input_rate: float | None = NonNegative  # credits per token
    output_rate: float | None = NonNegative
    cache_read_rate: float | None = NonNegative
    cache_write_rate: float | None = NonNegative
    image_rate: float | None = NonNegative  # credits per image
    second_rate: float | None = NonNegative  # credits per second (video, transcribed audio)
    input_cost_usd: float | None = NonNegative  # the provider's unit costs
    output_cost_usd: float | None = NonNegative
    cache_read_cost_usd: float | None = NonNegative
    cache_write_cost_usd: float | None = NonNegative
    image_cost_usd: float | None = NonNegative
    metadata: dict[str, Any] | None = None
    deprecated: bool | None = None


class RateCreate(RateFields):
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    type: Literal["chat", "embedding", "image", "video", "audio"] = "chat"
    input_rate: float = Field(default=0, ge=0)
    output_rate: float = Field(default=0, ge=0)


class BulkRates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    margin: float = Field(ge=-0.99, le=100)  # 0.2 = unit cost + 20 %
    credit_price: float = Field(gt=0)  # USD per credit
    provider: str | None = None
    models: list[str] | None = None
    source: Literal["existing", "catalogue"] = "existing"
    dry_run: bool = True


class CreditChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: float = Field(gt=0)  # credits
    kind: Literal["grant", "topup", "refund"] = "grant"
    expires_at: int | None = Field(default=None, ge=0)  # epoch ms; grants only
    note: str | None = Field(default=None, max_length=500)
    request_id: str | None = None  # the call a refund is for
