"""Parse a JSON body into a pydantic wire model; any failure is a 400 naming the field."""
from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from chalicelib.errors import ApiError, bad_request

M = TypeVar("M", bound=BaseModel)

# orjson refuses only past 1024 levels; what takes the body after it (pydantic, repr, orjson's own
# encoder at 255 levels, a provider's parser) breaks sooner. No real request nests this deep.
MAX_DEPTH = 64


def _too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """True when containers nest deeper than `limit`; iterative, so a deep body cannot recurse."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    return True
                pending.append((child, depth + 1))
    return False


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
    if _too_deep(data):
        raise bad_request(f"The request body nests objects and arrays more than {MAX_DEPTH} levels deep.",
                          code="invalid_json")
    return data


# pydantic puts the union branch it tried into `loc` ("str", "list[int]", "constrained-str", ...);
# not field names.
_BRANCH_TAGS = {"str", "int", "bool", "float", "none", "dict", "list", "constrained-str", "constrained-int"}


def _models(root: type[BaseModel] = BaseModel) -> set[str]:
    """Names of the models a union may have tried (pydantic tags `loc` with them too)."""
    return {name for sub in root.__subclasses__() for name in (sub.__name__, *_models(sub))}


def _param(loc: tuple[Any, ...]) -> str:
    out = ""
    tags = _BRANCH_TAGS | _models()
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in tags and "[" not in str(part):
            out += ("." if out else "") + str(part)
    return out


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # The deepest error: in a union (content: str | list of parts) it names the part that failed.
        first = max(exc.errors(include_url=False, include_input=False), key=lambda error: len(error["loc"]))
        param = _param(first["loc"]) or None
        message = first["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        raise ApiError(400, f"Invalid '{param}': {message}." if param else f"Invalid request: {message}.",
                       param=param, code="invalid_value" if first["type"] != "missing" else "missing_required_parameter") from None


def normalised(parsed: BaseModel, body: dict[str, Any]) -> dict[str, Any]:
    """The client's own body (what goes upstream) with the integers it sent as integral floats
    (`"n": 2.0`) made the ints the model parsed, so providers and pricing see one type."""
    for name in parsed.model_fields_set:
        value = getattr(parsed, name)
        if type(value) is int and isinstance(body.get(name), float):
            body[name] = value
    return body
