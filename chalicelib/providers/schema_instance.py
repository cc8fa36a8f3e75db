"""A minimal valid instance of a JSON Schema, for the demo model's structured answers.

Covers what clients send as `response_format.json_schema` and tool parameters (pydantic's and
zod's output): objects with required properties, strings (enum, const, format, min/maxLength),
numbers and integers (bounds, multipleOf), booleans, arrays (minItems, prefixItems), null,
anyOf/oneOf/allOf, local `$ref`s into `$defs`/`definitions`, and OpenAPI's `nullable`. Not a
validator: an unsatisfiable schema yields some value, not an error.
"""
from __future__ import annotations

import math
from typing import Any

# A recursive schema (a tree whose children are required) has no finite instance unless a
# branch ends it; past this depth the generator takes the shortest way out (null, [], {}).
MAX_DEPTH = 16

_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "demo@example.com",
    "idn-email": "demo@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "regex": ".*",
}
_TYPE_ORDER = ("object", "array", "string", "integer", "number", "boolean", "null")


def instance(schema: Any) -> Any:
    """A small value the schema accepts: required properties only, the fewest items, bounds' nearest values."""
    return _Generator(schema if isinstance(schema, dict) else {}).value(schema, 0)


class _Generator:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            return {}  # remote references are not fetched: any value
        node: Any = self.root
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    def value(self, schema: Any, depth: int) -> Any:
        if schema is True or not isinstance(schema, dict):
            return None if depth > MAX_DEPTH else {}
        if "$ref" in schema:
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return self.value({**self.resolve(schema["$ref"]), **rest}, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = _merge(merged, self.deref(part))
            return self.value(merged, depth + 1)
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                rest = {k: v for k, v in schema.items() if k != key}
                return self.value(_merge(rest, self.branch(schema[key], depth)), depth + 1)
        kind = _type_of(schema, prefer_null=depth > MAX_DEPTH)
        return getattr(self, "_" + kind)(schema, depth)

    def deref(self, schema: Any) -> dict[str, Any]:
        if isinstance(schema, dict) and "$ref" in schema:
            return {**self.resolve(schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema if isinstance(schema, dict) else {}

    def branch(self, options: list[Any], depth: int) -> dict[str, Any]:
        """The first non-null option, so a nullable field gets a real value; deep in a
        recursion, the null one so the instance ends."""
        resolved = [self.deref(o) for o in options]
        is_null = [o.get("type") == "null" for o in resolved]
        if depth > MAX_DEPTH and any(is_null):
            return resolved[is_null.index(True)]
        return next((o for o, null in zip(resolved, is_null) if not null), resolved[0])

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties") or {}
        out = {name: self.value(props.get(name, {}), depth + 1) for name in schema.get("required") or ()}
        # minProperties beyond the required ones: fill from the declared properties
        for name in props:
            if len(out) >= (schema.get("minProperties") or 0):
                break
            out.setdefault(name, self.value(props[name], depth + 1))
        return out

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        prefix = list(schema.get("prefixItems") or ())
        items = schema.get("items")
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, schema.get("additionalItems")
        size = schema.get("minItems") or 0
        return [self.value(prefix[i] if i < len(prefix) else (items or {}), depth + 1) for i in range(size)]

    def _string(self, schema: dict[str, Any], depth: int) -> str:
        text = _FORMATS.get(schema.get("format") or "", "demo")
        low, high = schema.get("minLength") or 0, schema.get("maxLength")
        if len(text) < low:
            text += "x" * (low - len(text))
        return text[:high] if high is not None else text

    def _integer(self, schema: dict[str, Any], depth: int) -> int:
        return int(self._number(schema, depth, integer=True))

    def _number(self, schema: dict[str, Any], depth: int, integer: bool = False) -> float | int:
        step = 1 if integer else 0.5
        low = _bound(schema, "minimum", "exclusiveMinimum", +step)
        high = _bound(schema, "maximum", "exclusiveMaximum", -step)
        value: float = 0
        if low is not None and value < low:
            value = low
        elif high is not None and value > high:
            value = high
        if integer:
            value = math.ceil(value) if low is not None and value == low else math.floor(value)
        multiple = schema.get("multipleOf")
        if multiple:
            value = math.ceil(value / multiple) * multiple
        return int(value) if integer or float(value).is_integer() else value

    def _boolean(self, schema: dict[str, Any], depth: int) -> bool:
        return False

    def _null(self, schema: dict[str, Any], depth: int) -> None:
        return None


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str, step: float) -> float | None:
    if isinstance(schema.get(exclusive), (int, float)) and not isinstance(schema.get(exclusive), bool):
        return schema[exclusive] + step
    if schema.get(exclusive) is True and inclusive in schema:  # draft 4: a flag beside the bound
        return schema[inclusive] + step
    return schema.get(inclusive)


def _type_of(schema: dict[str, Any], prefer_null: bool) -> str:
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or ())
    if schema.get("nullable") and prefer_null:
        return "null"
    if prefer_null and "null" in types:
        return "null"
    real = [t for t in types if t != "null"]
    if real:
        return min(real, key=lambda t: _TYPE_ORDER.index(t) if t in _TYPE_ORDER else len(_TYPE_ORDER))
    if types:
        return "null"
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema or "minItems" in schema:
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    if any(k in schema for k in ("minLength", "maxLength", "format", "pattern")):
        return "string"
    return "object" if not prefer_null else "null"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Two schemas that must both hold, merged enough for generation: properties and
    required lists are unioned, the rest of `extra` wins."""
    out = {**base, **extra}
    if "properties" in base or "properties" in extra:
        out["properties"] = {**(base.get("properties") or {}), **(extra.get("properties") or {})}
    if "required" in base or "required" in extra:
        out["required"] = list(dict.fromkeys([*(base.get("required") or ()), *(extra.get("required") or ())]))
    return out
