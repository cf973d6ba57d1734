"""Smoke test of the side-by-side benchmark harness (``bench.compare``):
our daemon and BIRD 2 on a small transit feed and a small fan-out, each in
its own namespaces; every receiver must hold every prefix it was fed.

Root and the reference binary are needed; the test skips cleanly without
them.  Each run cleans up its namespaces and processes in ``finally``
(``bench.compare.run.run_once``); the test also checks that none of its
namespaces is left behind.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from bench.compare import cases
from bench.compare.references import REFERENCES
from bench.compare.run import run_once

pytestmark = pytest.mark.lab

DAEMONS = ("bgpd", "bird2")
TIMEOUT = 20.0


def _our_namespaces() -> list[str]:
    res = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in res.stdout.splitlines()
            if line.startswith(f"bcmp{os.getpid()}-")]


@pytest.fixture(scope="module", autouse=True)
def _requirements():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    missing = [why for d in DAEMONS if (why := REFERENCES[d].missing())]
    if missing:
        pytest.skip("; ".join(missing))


@pytest.mark.parametrize("case,scale", [("transit", 0.003), ("fan-out", 0.02)])
@pytest.mark.parametrize("daemon", DAEMONS)
def test_every_receiver_gets_every_prefix(daemon, case, scale):
    plan = cases.plan(case, scale)
    cases.prepare(plan)
    try:
        res = run_once(REFERENCES[daemon], plan, TIMEOUT)
    finally:
        assert _our_namespaces() == []
    assert res.status == "ok", (res.status, res.notes)
    assert res.need > 0 and res.held == res.need
    assert res.unknown == 0
    assert res.wall is not None and 0 < res.wall < TIMEOUT
    assert res.cpu is not None and res.cpu >= 0
    assert res.rss and res.rss > 1_000_000
