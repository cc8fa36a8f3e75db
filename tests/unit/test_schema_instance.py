"""The demo's minimal-instance generator: each schema's instance validates against it."""
from __future__ import annotations

import jsonschema
import pytest

from chalicelib.providers.schema_instance import instance

CASES = [
    ({"type": "string"}, None),
    ({"type": "string", "minLength": 10, "maxLength": 12}, None),
    ({"type": "string", "maxLength": 2}, None),
    ({"type": "string", "enum": ["b", "a"]}, "b"),
    ({"const": {"x": 1}}, {"x": 1}),
    ({"type": "string", "format": "date-time"}, None),
    ({"type": "string", "format": "email"}, None),
    ({"type": "string", "format": "uuid"}, None),
    ({"type": "integer", "minimum": 5, "maximum": 9}, 5),
    ({"type": "integer", "exclusiveMinimum": 5}, 6),
    ({"type": "integer", "maximum": -3}, -3),
    ({"type": "integer", "minimum": 7, "multipleOf": 5}, 10),
    ({"type": "number", "exclusiveMinimum": 0.5}, None),
    ({"type": "number", "exclusiveMaximum": -1}, None),
    ({"type": "boolean"}, False),
    ({"type": "null"}, None),
    ({"type": ["string", "null"]}, "demo"),
    ({"type": "string", "nullable": True}, "demo"),
    ({"type": "array", "items": {"type": "integer", "minimum": 2}, "minItems": 3}, [2, 2, 2]),
    ({"type": "array", "prefixItems": [{"type": "boolean"}, {"const": "x"}], "minItems": 2}, [False, "x"]),
    ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["b"]},
     {"b": 0}),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "minProperties": 1}, {"a": "demo"}),
    ({"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 3}]}, 3),
    ({"oneOf": [{"type": "string", "minLength": 5}, {"type": "integer"}]}, None),
    ({"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}]}, {"a": 0, "b": False}),
    ({"$defs": {"P": {"type": "object", "properties": {"n": {"type": "string", "minLength": 6}}, "required": ["n"]}},
      "type": "object", "properties": {"p": {"$ref": "#/$defs/P"}}, "required": ["p"]}, None),
    ({"definitions": {"C": {"enum": ["red", "blue"]}}, "type": "array", "minItems": 1,
      "items": {"$ref": "#/definitions/C"}}, ["red"]),
    ({"properties": {"x": {"type": "integer"}}, "required": ["x"]}, {"x": 0}),  # type implied
    ({}, {}),
]


@pytest.mark.parametrize(("schema", "expected"), CASES)
def test_instance_is_valid(schema, expected):
    value = instance(schema)
    jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
    if expected is not None:
        assert value == expected


def test_a_recursive_schema_ends():
    tree = {"$defs": {"Node": {"type": "object", "required": ["value", "child"],
                               "properties": {"value": {"type": "integer"},
                                              "child": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}}}},
            "$ref": "#/$defs/Node"}
    value = instance(tree)
    jsonschema.validate(value, tree)
    depth = 0
    while value is not None:
        value, depth = value["child"], depth + 1
    assert depth > 1  # it nested real nodes before it ended
