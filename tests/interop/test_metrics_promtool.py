"""Our metrics page, checked by Prometheus's own linter.

Two daemons peer over loopback in this process (the helpers of
tests/bgpd), each serving ``/metrics``; the pages scraped while the session
is up (event hooks fed, a kernel FIB's figures present) and after it was
disabled (a last error present) must pass ``promtool check metrics`` with
no lint problem at all: names, ``_total`` suffixes, units, HELP text.
A page with a known problem shows that the check does speak up.

promtool comes with Debian's ``prometheus`` package; without it the test
is skipped.  No namespace, no root: promtool only reads a file.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest
import trio

BGPD_TESTS = str(pathlib.Path(__file__).resolve().parent.parent / "bgpd")
if BGPD_TESTS not in sys.path:
    sys.path.insert(0, BGPD_TESTS)

from bgpd_testlib import (Loopback, Pair, command, learned, mock_clock,  # noqa: E402
                          wait_for, wait_state)

from bgpd.metrics import Metrics, serve  # noqa: E402

PROMTOOL = shutil.which("promtool")
DEADLINE = 600          # mock seconds
PROMTOOL_TIMEOUT = 60   # real seconds

needs_promtool = pytest.mark.skipif(PROMTOOL is None,
                                    reason="promtool not installed (Debian package prometheus)")


def promtool_check(text: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=PROMTOOL_TIMEOUT)


async def scrape(host: str, port: int) -> str:
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        await stream.send_all(b"GET /metrics HTTP/1.1\r\nHost: bgpd\r\n\r\n")
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    return body.decode()


class FakeFib:
    def status(self) -> dict:
        return {"desired": 12, "installed": 10, "unresolved": 1, "conflicts": 1, "stale": 0}


@pytest.fixture
def _keep_gc(monkeypatch):
    """The daemon tunes the garbage collector of its process; here that is pytest's."""
    monkeypatch.setattr("bgpd.daemon.tune_gc", lambda: None)


@needs_promtool
def test_scraped_pages_pass_promtool(_keep_gc):
    sockdir = tempfile.mkdtemp(prefix="bgpd-metrics-")
    pages: dict[str, str] = {}
    try:
        pair = Pair(Loopback(), sockdir)

        async def main():
            with trio.fail_after(DEADLINE):
                async with pair.running() as (a, b), trio.open_nursery() as servers:
                    await pair.established(a, b)
                    await wait_for(lambda: len(learned(a, "b")) == 2, "B's prefixes on A")
                    metrics = Metrics(a)
                    a_port = await servers.start(serve, a, metrics, pair.a_address, 0)
                    b_port = await servers.start(serve, b, Metrics(b), pair.b_address, 0)
                    metrics.decision(0.0004, 2)
                    metrics.kernel_batch(0.003, 10, 1)
                    a.fib = FakeFib()
                    pages["a, session up"] = await scrape(pair.a_address, a_port)
                    await command(a, "disable", "b", "maintenance")
                    await wait_state(b, "a", "IDLE")
                    pages["a, session disabled"] = await scrape(pair.a_address, a_port)
                    pages["b, peer went away"] = await scrape(pair.b_address, b_port)
                    servers.cancel_scope.cancel()

        trio.run(main, clock=mock_clock())
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)

    assert 'state="established"} 1.0' in pages["a, session up"]
    assert "bgp_kernel_routes 10.0" in pages["a, session up"]
    assert "bgp_peer_last_error_info{" in pages["a, session disabled"]
    assert "bgp_peer_last_error_info{" in pages["b, peer went away"]
    for what, text in pages.items():
        done = promtool_check(text)
        assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), \
            f"{what}: promtool says:\n{done.stdout}{done.stderr}"


@needs_promtool
def test_promtool_reports_lint_problems():
    done = promtool_check("# HELP bgp_things Things.\n# TYPE bgp_things counter\n"
                          "bgp_things 1\n")
    assert done.returncode != 0
    assert "_total" in done.stdout + done.stderr
