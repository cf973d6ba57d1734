"""Fixtures of the daemon's tests: a private loopback block and a short
directory for control sockets (a UNIX socket path must stay under 108
octets, which pytest's own temporary paths can exceed)."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from bgpd_testlib import Loopback


@pytest.fixture(autouse=True)
def _keep_gc(monkeypatch):
    """The daemon tunes (and freezes) the garbage collector of its process;
    in a test the process is pytest's, so leave the collector alone."""
    monkeypatch.setattr("bgpd.daemon.tune_gc", lambda: None)


@pytest.fixture
def lo() -> Loopback:
    return Loopback()


@pytest.fixture
def sockdir():
    path = tempfile.mkdtemp(prefix="bgpd-test-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
