"""Fixtures of the kernel layer's tests: a ``Lab`` (tests/interop/lab.py) for
the ones that need network namespaces."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.interop.lab import Lab, missing_tools  # noqa: E402


@pytest.fixture
def lab(request):
    """A fresh ``Lab``; every namespace and process in it is removed after
    the test, passed or failed."""
    if os.geteuid() != 0:
        pytest.skip("namespace tests need root")
    missing = missing_tools("ip", "bridge")
    if missing:
        pytest.skip(f"missing tools: {missing}")
    tag = "ks" + re.sub(r"[^a-z0-9]", "", request.node.name.lower())[-6:]
    with Lab(tag) as the_lab:
        yield the_lab
