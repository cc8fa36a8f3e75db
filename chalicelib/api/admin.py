"""Wire models of the admin API."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from chalicelib.api.limits import (
    MAX_LIST,
    MAX_NAME,
    MAX_NOTE,
    MAX_RATE_LIMIT,
    MAX_SECRET,
    MAX_URL,
    Credits,
    Integer,
    Name,
    RateValue,
    Timestamp,
    not_null,
)

Label = Annotated[str, Field(max_length=200)]  # a display name or key name
Secret = Annotated[str, Field(min_length=1, max_length=MAX_SECRET)]
SecretValue = Secret | Annotated[dict[Name, Secret], Field(min_length=1, max_length=64)]
PerMinute = Annotated[Integer, Field(ge=1, le=MAX_RATE_LIMIT)]
# What HTTP allows, so a header sent upstream on every call cannot fail the call.
HeaderName = Annotated[str, Field(max_length=MAX_NAME, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
HeaderValue = Annotated[str, Field(max_length=MAX_URL, pattern=r"^[\t\x20-\x7e]*$")]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label | None = None
    credits: Credits | None = None
    role: Literal["user", "admin"] = "user"
    account_id: Name | None = None
    rpm: PerMinute | None = None
    tpm: PerMinute | None = None


class ProviderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connect_timeout: float | None = Field(default=None, gt=0, le=600)
    read_timeout: float | None = Field(default=None, gt=0, le=3600)
    models: Annotated[list[Name], Field(max_length=MAX_LIST)] | None = None
    model_map: Annotated[dict[Name, Name], Field(max_length=MAX_LIST)] | None = None
    headers: Annotated[dict[HeaderName, HeaderValue], Field(max_length=64)] | None = None
    responses_api: StrictBool | None = None  # the endpoint serves OpenAI's /responses itself


class ProviderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: Label | None = None
    kind: Annotated[str, Field(max_length=64)] | None = None
    base_url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=MAX_URL)
    region: str | None = Field(default=None, max_length=50)
    enabled: bool | None = None
    config: ProviderConfig | None = None

    _not_null = not_null("kind", "enabled")


class ProviderCreate(ProviderUpdate):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: Annotated[str, Field(max_length=64)]


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label | None = None
    value: SecretValue
    type: Literal["api_key", "aws", "json"] | None = None
    weight: Integer = Field(default=1, ge=1, le=1000)
    check: bool = True


class CredentialUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label | None = None
    value: SecretValue | None = None
    weight: Integer | None = Field(default=None, ge=1, le=1000)
    active: bool | None = None

    _not_null = not_null("weight", "active")


class KeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label | None = None
    rpm: PerMinute | None = None
    tpm: PerMinute | None = None
    daily_cap: Credits | None = None
    monthly_cap: Credits | None = None
    expires_at: Timestamp | None = None


class RateFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["chat", "embedding", "image", "video", "moderation", "audio"] | None = None
    input_rate: RateValue | None = None  # credits per token
    output_rate: RateValue | None = None
    cache_read_rate: RateValue | None = None
    cache_write_rate: RateValue | None = None
    image_rate: RateValue | None = None  # credits per image
    second_rate: RateValue | None = None  # credits per second (video, transcribed audio)
    input_cost_usd: RateValue | None = None  # the provider's unit costs
    output_cost_usd: RateValue | None = None
    cache_read_cost_usd: RateValue | None = None
    cache_write_cost_usd: RateValue | None = None
    image_cost_usd: RateValue | None = None
    metadata: dict[str, Any] | None = None
    deprecated: bool | None = None

    _not_null = not_null("type", "input_rate", "output_rate", "deprecated")


class RateCreate(RateFields):
    provider: Name
    model: Name
    type: Literal["chat", "embedding", "image", "video", "moderation", "audio"] = "chat"
    input_rate: RateValue = 0
    output_rate: RateValue = 0


class BulkRates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    margin: float = Field(ge=-0.99, le=100)  # 0.2 = unit cost + 20 %
    credit_price: float = Field(gt=0, le=10**9, allow_inf_nan=False)  # USD per credit
    provider: Name | None = None
    models: Annotated[list[Name], Field(max_length=MAX_LIST)] | None = None
    source: Literal["existing", "catalogue"] = "existing"
    dry_run: bool = True


class CreditChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Credits = Field(gt=0)
    kind: Literal["grant", "topup", "refund"] = "grant"
    expires_at: Timestamp | None = None  # grants only
    note: str | None = Field(default=None, max_length=MAX_NOTE)
    request_id: Name | None = None  # the call a refund is for
