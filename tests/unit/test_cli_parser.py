"""Every CLI command has --help with an example and --json where it prints data; the database
default does not depend on the working folder; the no-credential error names the three ways."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from chalicelib.cli import parser
from chalicelib.cli.commands import when
from chalicelib.config import from_env
from chalicelib.gateway.resolve import how_to_add_credential
from chalicelib.providers import registry

ROOT = Path(__file__).resolve().parents[2]


def leaves(p: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, p)]
    return [leaf for name, child in subs[0].choices.items() for leaf in leaves(child, (*path, name))]


ALL = leaves(parser())


def test_the_cli_covers_every_admin_task_group():
    groups = {path[0] for path, _ in ALL}
    assert {"keys", "providers", "credentials", "models", "rates", "credits", "calls", "usage"} <= groups
    assert {("keys", "update"), ("calls", "export"), ("models", "probe"), ("credits", "ledger"),
            ("usage", "summary")} <= {path for path, _ in ALL}


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_every_command_has_an_example(path, command):
    assert command.epilog and f"aihub {' '.join(path)}" in command.epilog


@pytest.mark.parametrize(("raw", "ms"), [
    ("2030-01-01", 1893456000000),
    ("2030-01-01T00:00:00Z", 1893456000000),
    ("2030-01-01T02:00:00+02:00", 1893456000000),
    ("1893456000000", 1893456000000),
])
def test_dates_are_iso_8601(raw, ms):
    assert when(raw) == ms


def test_a_date_that_is_not_iso_is_refused():
    with pytest.raises(argparse.ArgumentTypeError, match="ISO 8601"):
        when("next tuesday")


def test_the_database_is_the_checkouts_wherever_the_command_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert from_env({}).db_path == str(ROOT / "data" / "aihub.db")
    assert from_env({"AIHUB_DB": "/srv/x.db"}).db_path == "/srv/x.db"


@pytest.mark.parametrize(("provider", "env_var"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")])
def test_the_no_credential_advice_names_the_three_ways(provider, env_var):
    advice = how_to_add_credential(registry.BUILTIN[provider])
    assert env_var in advice and f"aihub credentials add {provider}" in advice and "Providers page" in advice
