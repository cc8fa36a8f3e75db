"""A DynamoDB-compatible endpoint on loopback (moto's server mode) and the table as infra/
creates it: partition key `pk`, on demand, TTL on `ttl`."""
from __future__ import annotations

import secrets
from typing import Any

from tests.support.aws import CREDENTIALS, client


def dynamodb(endpoint: str) -> Any:
    return client("dynamodb", endpoint)


def create_table(endpoint: str, name: str | None = None) -> str:
    """A new hot-state table; returns its name."""
    name = name or f"aihub-hot-{secrets.token_hex(4)}"
    client = dynamodb(endpoint)
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    return name


def gateway_env(endpoint: str, table: str) -> dict[str, str]:
    """What a gateway process needs to keep its hot state in that table."""
    return {**CREDENTIALS, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AIHUB_HOT_STATE": "dynamodb",
            "AIHUB_DYNAMODB_TABLE": table}
