"""The Python examples of the README's "Use it from your tools" section, each run as written
(only the base URL points at this test's server) against a real gateway: each must print the
demo model's answer."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.gateway import ROOT

README_URL = "http://127.0.0.1:8000"
SECTION = re.compile(r"^## Use it from your tools\n(.*?)^## ", re.DOTALL | re.MULTILINE)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _examples() -> list[str]:
    section = SECTION.search((ROOT / "README.md").read_text())
    assert section, "README has no 'Use it from your tools' section"
    return PYTHON_BLOCK.findall(section.group(1))


EXAMPLES = _examples()


def test_the_section_covers_every_python_client():
    imports = " ".join(EXAMPLES)
    for client in ("import anthropic", "from openai import OpenAI", "from google import genai",
                   "from langchain_openai import ChatOpenAI", "import litellm"):
        assert client in imports, client


@pytest.mark.parametrize("code", EXAMPLES, ids=lambda code: re.search(r"^(?:from|import) (\w+)", code, re.MULTILINE).group(1))
def test_example_runs_against_the_server(code, gateway, user, tmp_path):
    assert README_URL in code
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_"))}
    # No network in tests: LiteLLM would fetch its price map at import.
    env.update(AIHUB_KEY=user["key"], LITELLM_LOCAL_MODEL_COST_MAP="True", HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code.replace(README_URL, gateway.url)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = [line for line in done.stdout.splitlines() if line.strip()]
    assert answers and all(line == "This is aihub's offline demo model. You said: Hello" for line in answers), \
        done.stdout
