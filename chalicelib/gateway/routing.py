"""Route templates and their matching, shared by both fronts.

A template is a path with parameters in braces:
- `{name}` matches one path segment or part of one (`/v1beta/models/{model}:generateContent`),
  never a `/`;
- `{name+}` is greedy, as API Gateway and Chalice spell it: one or more characters, `/`
  included (`/v1/models/{id+}` matches `/v1/models/openrouter/mistralai/mistral-7b-instruct`),
  anywhere in the template (`/admin/models/{provider}/{model+}/probe`).

Matching prefers literal routes, then routes with only one-segment parameters, then greedy
ones, so `/v1/models/{id+}` never shadows a fixed route below `/v1/models/`.

API Gateway (and Chalice's local server) can express `{name}` only as a whole segment and
`{name+}` only as the last one. `gateway_path` gives the nearest path it can express: the
template up to the first segment it cannot, then one greedy `{proxy+}` tail; the Chalice
front registers that and matches the real path here (`concrete_path` rebuilds it).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_PARAM = re.compile(r"\{(\w+)(\+?)\}")
_WHOLE_SEGMENT = re.compile(r"^\{\w+\}$")
_GREEDY_SEGMENT = re.compile(r"^\{\w+\+\}$")
PROXY = "proxy"


def compile_path(template: str) -> re.Pattern[str]:
    """The anchored regex of a template; its named groups are the parameters."""
    out, at = [], 0
    for found in _PARAM.finditer(template):
        out.append(re.escape(template[at:found.start()]))
        out.append(f"(?P<{found[1]}>.+)" if found[2] else f"(?P<{found[1]}>[^/]+)")
        at = found.end()
    out.append(re.escape(template[at:]))
    return re.compile("^" + "".join(out) + "$")


def parameters(template: str) -> list[tuple[str, bool]]:
    """The template's parameters in order: (name, greedy)."""
    return [(name, bool(plus)) for name, plus in _PARAM.findall(template)]


def plain(template: str) -> str:
    """The template with greedy parameters written as one-segment ones (`{id+}` -> `{id}`), as
    OpenAPI spells a path."""
    return _PARAM.sub(lambda found: "{" + found[1] + "}", template)


def rank(template: str) -> tuple[int, int]:
    """Sort key: literal first, then one-segment parameters, then greedy; fewer first."""
    params = _PARAM.findall(template)
    return sum(1 for _, plus in params if plus), len(params)


def gateway_path(template: str) -> str:
    """The path API Gateway can route for this template (itself when it can express it)."""
    segments = template.split("/")
    for i, segment in enumerate(segments):
        if "{" not in segment or _WHOLE_SEGMENT.match(segment):
            continue
        if _GREEDY_SEGMENT.match(segment) and i == len(segments) - 1:
            continue
        return "/".join(segments[:i] + ["{" + PROXY + "+}"])
    return template


def concrete_path(gateway: str, params: Mapping[str, str]) -> str:
    """The request path from a gateway path and the parameters API Gateway extracted (whose
    names may keep the `+`, as Chalice's local server leaves them)."""
    values = {name.rstrip("+"): value for name, value in params.items()}
    return _PARAM.sub(lambda found: values.get(found[1], found[0]), gateway)


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    target: T | None  # the route's value for the method, None when the method is not served
    params: dict[str, str]
    allowed: tuple[str, ...]  # the methods the matched path serves


class RouteTable(Generic[T]):
    """Templates -> {method: value}, matched in `rank` order.

    Literal templates (rank first) are one dict lookup; the others' regexes are compiled by the
    first match that gets past the literals, not when the route table is declared (cold start:
    most first requests, /health and the chat call included, never need one)."""

    def __init__(self, routes: Iterable[tuple[str, str, T]] = ()) -> None:
        self._by_path: dict[str, dict[str, T]] = {}
        self._literal: dict[str, dict[str, T]] = {}
        self._templated: list[tuple[tuple[int, int], str, dict[str, T]]] = []
        self._compiled: list[tuple[re.Pattern[str], dict[str, T]]] | None = None
        for method, template, value in routes:
            self.add(method, template, value)

    def add(self, method: str, template: str, value: T) -> None:
        methods = self._by_path.get(template)
        if methods is None:
            methods = self._by_path[template] = {}
            if _PARAM.search(template):
                self._templated.append((rank(template), template, methods))
                self._templated.sort(key=lambda item: item[0])  # stable: same rank keeps declaration order
                self._compiled = None
            else:
                self._literal[template] = methods
        if method in methods:
            raise ValueError(f"{method} {template} is declared twice")
        methods[method] = value

    def match(self, method: str, path: str) -> Match[T] | None:
        """The first route whose template matches `path`, or None when none does."""
        methods = self._literal.get(path)
        if methods is not None:
            return Match(methods.get(method), {}, tuple(sorted(methods)))
        if self._compiled is None:
            self._compiled = [(compile_path(template), methods) for _, template, methods in self._templated]
        for pattern, methods in self._compiled:
            found = pattern.match(path)
            if found:
                return Match(methods.get(method), found.groupdict(), tuple(sorted(methods)))
        return None

