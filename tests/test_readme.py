"""The README tells the truth: its configuration examples load, and the
commands it names exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import conf
from bgpd import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("block", re.findall(r"```toml\n(.*?)```", README, re.S))
def test_configuration_examples_load(block):
    conf.loads(block, "README.md")


def test_the_two_commands():
    assert "scripts/setup && bgpd demo" in README
    assert "scripts/setup && python3 -m pytest" in README
    assert cli.build_parser().parse_args(["demo"]).command == "demo"
