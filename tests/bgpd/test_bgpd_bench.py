"""The many-session benchmark (``bench/sessions.py``) runs end to end on a
small scale: the daemon and the peer simulator as processes, every session
up, the table row printed, exit status 0 when they all stayed up."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_bench_sessions_small_run():
    out = subprocess.run(
        [sys.executable, "-m", "bench.sessions", "--peers", "30", "--seconds", "1",
         "--settle", "0.2"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True,
        timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    header, row = out.stdout.splitlines()[-2:]
    assert header.split()[:3] == ["peers", "daemon", "CPU%"]
    cells = row.split()
    assert cells[0] == "30" and cells[-1] == "yes"
    assert float(cells[1]) >= 0 and float(cells[2]) > 0     # CPU%, RSS MiB
