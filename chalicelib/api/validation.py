"""Parse a JSON body into a pydantic wire model; any failure is a 400 naming the field."""
from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from chalicelib.errors import ApiError, bad_request

M = TypeVar("M", bound=BaseModel)


def json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise bad_request("The request body is empty; expected a JSON object.", code="invalid_json")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc.msg} at position {exc.pos}.",
                          code="invalid_json") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    return data


# pydantic puts the union branch it tried into `loc` ("str", "list[int]", ...); not field names.
_BRANCH_TAGS = {"str", "int", "bool", "float", "none", "dict", "list"}


def _param(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in _BRANCH_TAGS and "[" not in str(part):
            out += ("." if out else "") + str(part)
    return out


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        param = _param(first["loc"]) or None
        message = first["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        raise ApiError(400, f"Invalid '{param}': {message}." if param else f"Invalid request: {message}.",
                       param=param, code="invalid_value" if first["type"] != "missing" else "missing_required_parameter") from None
