"""Fixtures of the interoperability lab (see lab.py)."""

from __future__ import annotations

import os
import re

import pytest

from .lab import Lab


@pytest.fixture
def lab(request):
    """A fresh ``Lab``; everything in it is removed after the test, passed
    or failed.  Set BGPD_LAB_KEEP=1 to keep its work directory (logs,
    configurations, pcaps)."""
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (network namespaces)")
    tag = re.sub(r"[^a-z0-9]", "", request.node.name.lower())[-8:]
    with Lab(tag) as the_lab:
        yield the_lab
