"""Route paths as both fronts read them.

`{name}` is one path segment. `{name+}` is API Gateway's greedy form: the rest of the path,
slashes included, for ids that contain `/` (the google-genai SDK sends `openai/gpt-4o-mini`
into the path as it is). API Gateway passes a greedy parameter as `name`, without the `+`.
"""
from __future__ import annotations

import re

_PARAM = re.compile(r"\{(\w+)(\+?)\}")


def pattern(path: str) -> re.Pattern[str]:
    """The regex of a route path: named groups for its parameters, the greedy ones taking `/` too."""
    regex, end = "^", 0
    for found in _PARAM.finditer(path):
        regex += re.escape(path[end:found.start()])
        regex += f"(?P<{found[1]}>{'.+' if found[2] else '[^/]+'})"
        end = found.end()
    return re.compile(regex + re.escape(path[end:]) + "$")


def precedence(path: str) -> tuple[int, int]:
    """Sort key: literal paths first, then by parameter count, greedy ones last, so a fixed
    route is never shadowed by a parameterised one and a greedy one never hides another."""
    params = _PARAM.findall(path)
    return sum(1 for _, plus in params if plus), len(params)


def greedy_names(path: str) -> list[str]:
    return [name for name, plus in _PARAM.findall(path) if plus]
