"""systemd integration: sd_notify datagrams, the watchdog task, the unit file.

A fake ``$NOTIFY_SOCKET`` (a bound AF_UNIX datagram socket in the test's
directory, or a name in the abstract namespace) receives what ``bgpd.systemd``
sends.  The watchdog task runs on trio's mock clock, so its keep-alives and
status lines land at exact (mock) times.  The unit file is checked by
``systemd-analyze verify`` where it exists, and the daemon itself, run as
``bgpd run``, must say READY=1 once it serves, feed the watchdog and say
STOPPING=1 on SIGTERM -- all from its main process, as ``NotifyAccess=main``
requires.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest
import trio
import trio.testing

import conf
from bgpd import ctl, systemd
from bgpd_testlib import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT = os.path.join(ROOT, "conf", "systemd", "bgpd.service")
DEADLINE = 20           # real seconds, for the tests that run processes


@pytest.fixture
def env(monkeypatch):
    """No systemd variables unless the test sets them."""
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


class FakeSystemd:
    """A bound datagram socket standing for systemd's notify socket."""

    def __init__(self, address: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    def receive(self, timeout: float = 5.0) -> tuple[list[str], int | None]:
        """The next datagram's lines and the sender's pid."""
        self.sock.settimeout(timeout)
        data, ancdata, _flags, _addr = self.sock.recvmsg(
            4096, socket.CMSG_SPACE(struct.calcsize("3i")))
        pid = None
        for level, kind, value in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", value[:struct.calcsize("3i")])[0]
        return data.decode().split("\n"), pid

    def lines(self, timeout: float = 5.0) -> list[str]:
        return self.receive(timeout)[0]

    def pending(self) -> list[list[str]]:
        out = []
        self.sock.setblocking(False)
        try:
            while True:
                out.append(self.sock.recv(4096).decode().split("\n"))
        except BlockingIOError:
            return out

    def close(self):
        self.sock.close()


@pytest.fixture
def fake(env, sockdir):
    path = os.path.join(sockdir, "notify")
    s = FakeSystemd(path)
    env.setenv("NOTIFY_SOCKET", path)
    try:
        yield s
    finally:
        s.close()


# ----------------------------------------------------------------------------
# The notify functions

def test_not_run_by_systemd_is_a_no_op(env):
    assert systemd.notify("READY=1") is False
    assert systemd.ready("up") is False
    assert systemd.status("x") is False
    assert systemd.stopping() is False
    assert systemd.reloading() is False


def test_each_message(fake):
    assert systemd.ready("3/4 peers established, 1200 routes")
    assert fake.lines() == ["READY=1", "STATUS=3/4 peers established, 1200 routes"]
    assert systemd.ready()
    assert fake.lines() == ["READY=1"]
    assert systemd.status("loading")
    assert fake.lines() == ["STATUS=loading"]
    assert systemd.stopping()
    assert fake.lines() == ["STOPPING=1", "STATUS=Shutting down"]
    assert systemd.stopping(None)
    assert fake.lines() == ["STOPPING=1"]
    assert systemd.notify("WATCHDOG=1")
    assert fake.lines() == ["WATCHDOG=1"]
    assert systemd.extend_timeout(2.5)
    assert fake.lines() == ["EXTEND_TIMEOUT_USEC=2500000"]
    assert systemd.notify("RELOADING=1", "READY=1")
    assert fake.lines() == ["RELOADING=1", "READY=1"]


def test_reloading_carries_the_monotonic_clock(fake):
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert systemd.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    reloading, stamp, status = fake.lines()
    assert reloading == "RELOADING=1" and status == "STATUS=Reloading configuration"
    key, value = stamp.split("=")
    assert key == "MONOTONIC_USEC" and before <= int(value) <= after


def test_a_status_is_one_line(fake):
    systemd.status("two\nlines")
    assert fake.lines() == ["STATUS=two lines"]
    systemd.ready("a\nREADY=0")
    assert fake.lines() == ["READY=1", "STATUS=a READY=0"]


def test_abstract_socket(env):
    name = f"bgpd-test-{os.getpid()}-{secrets.token_hex(4)}"
    s = FakeSystemd("\0" + name)
    try:
        env.setenv("NOTIFY_SOCKET", "@" + name)
        assert systemd.ready("abstract")
        assert s.lines() == ["READY=1", "STATUS=abstract"]
    finally:
        s.close()


def test_systemd_gone_is_logged_not_raised(env, sockdir, caplog):
    env.setenv("NOTIFY_SOCKET", os.path.join(sockdir, "nobody-listens"))
    with caplog.at_level(logging.WARNING, logger="bgpd"):
        assert systemd.ready("up") is False
    assert "cannot notify systemd" in caplog.text and "READY=1" in caplog.text


def test_unknown_socket_kind_is_logged(env, caplog):
    env.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    with caplog.at_level(logging.WARNING, logger="bgpd"):
        assert systemd.ready() is False
    assert "vsock:2:1234" in caplog.text


# ----------------------------------------------------------------------------
# The watchdog interval ($WATCHDOG_USEC, $WATCHDOG_PID)

OURS = "ours"

WATCHDOG_ENV = [
    # WATCHDOG_USEC, WATCHDOG_PID, interval
    (None, None, None),
    ("30000000", None, 15.0),
    ("30000000", OURS, 15.0),
    ("30000000", "1", None),            # meant for another process
    ("30000000", "not a pid", None),
    ("0", None, None),
    ("-5", None, None),
    ("soon", None, None),
    ("", None, None),
]


@pytest.mark.parametrize("usec, pid, interval", WATCHDOG_ENV)
def test_watchdog_interval(env, usec, pid, interval):
    if usec is not None:
        env.setenv("WATCHDOG_USEC", usec)
    if pid is not None:
        env.setenv("WATCHDOG_PID", str(os.getpid()) if pid == OURS else pid)
    assert systemd.watchdog_interval() == interval


def test_next_deadline_does_not_burst():
    assert systemd._next(10.0, 5.0, 10.0) == 15.0
    assert systemd._next(10.0, 5.0, 10.1) == 15.0
    # The loop was held up for 17 s: one keep-alive now, the next 5 s later.
    assert systemd._next(10.0, 5.0, 27.0) == 32.0


# ----------------------------------------------------------------------------
# The watchdog task, on the mock clock

def run_watchdog(fake, seconds: float, **kwargs) -> tuple[list, object]:
    """Run ``systemd.watchdog(**kwargs)`` for ``seconds`` mock seconds;
    returns [(mock time, lines)] of what arrived, and what it started with."""
    got = []
    started = []

    async def receiver(sock):
        while True:
            data = await sock.recv(4096)
            got.append((trio.current_time(), data.decode().split("\n")))

    async def main():
        with trio.fail_after(seconds + 60):
            sock = trio.socket.from_stdlib_socket(fake.sock)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(receiver, sock)
                started.append(await nursery.start(lambda task_status: systemd.watchdog(
                    task_status=task_status, **kwargs)))
                await trio.sleep(seconds)
                nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return got, started[0]


def test_watchdog_keepalives_and_status(fake, env):
    env.setenv("WATCHDOG_USEC", "10000000")            # WatchdogSec=10
    calls = []

    def status_fn():
        calls.append(trio.current_time())
        return f"{len(calls)}/4 peers established, 1200 routes"

    got, interval = run_watchdog(fake, 31, status_fn=status_fn, status_every=15)
    assert interval == 5.0
    assert got == [
        (0, ["WATCHDOG=1", "STATUS=1/4 peers established, 1200 routes"]),
        (5, ["WATCHDOG=1"]),
        (10, ["WATCHDOG=1"]),
        (15, ["WATCHDOG=1", "STATUS=2/4 peers established, 1200 routes"]),
        (20, ["WATCHDOG=1"]),
        (25, ["WATCHDOG=1"]),
        (30, ["WATCHDOG=1", "STATUS=3/4 peers established, 1200 routes"]),
    ]
    assert calls == [0, 15, 30]


def test_watchdog_async_status_without_a_watchdog(fake):
    async def status_fn():
        await trio.sleep(0)
        return "fine"

    got, interval = run_watchdog(fake, 25, status_fn=status_fn, status_every=10)
    assert interval is None
    assert got == [(0, ["STATUS=fine"]), (10, ["STATUS=fine"]), (20, ["STATUS=fine"])]


def test_watchdog_pid_mismatch_sends_nothing(fake, env):
    env.setenv("WATCHDOG_USEC", "10000000")
    env.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    got, interval = run_watchdog(fake, 30)
    assert (got, interval) == ([], None)


def test_watchdog_without_systemd_returns(env):
    async def main():
        with trio.fail_after(1):
            async with trio.open_nursery() as nursery:
                interval = await nursery.start(lambda task_status: systemd.watchdog(
                    lambda: "x", task_status=task_status))
        return interval

    env.setenv("WATCHDOG_USEC", "10000000")
    assert trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0)) is None


def test_a_failing_status_does_not_stop_the_keepalives(fake, env, caplog):
    env.setenv("WATCHDOG_USEC", "4000000")

    def status_fn():
        raise RuntimeError("no routes table")

    with caplog.at_level(logging.ERROR, logger="bgpd"):
        got, _ = run_watchdog(fake, 5, status_fn=status_fn, status_every=4)
    assert got == [(0, ["WATCHDOG=1"]), (2, ["WATCHDOG=1"]), (4, ["WATCHDOG=1"])]
    assert caplog.text.count("status line for systemd failed") == 2
    assert "no routes table" in caplog.text


# ----------------------------------------------------------------------------
# The unit file

def unit_settings(text: str) -> dict[str, list[str]]:
    """``Key`` -> its values, in order (a key may repeat: ExecReload=)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        key, _, value = line.partition("=")
        out.setdefault(key, []).append(value)
    return out


def test_unit_file_settings():
    with open(UNIT) as f:
        u = unit_settings(f.read())
    assert u["Type"] == ["notify"] and u["NotifyAccess"] == ["main"]
    assert u["ExecStart"] == ["/usr/local/bin/bgpd run --config /etc/bgpd/bgpd.toml"]
    assert u["ExecReload"][-1] == "/bin/kill -HUP $MAINPID"
    assert u["WatchdogSec"] == ["30"] and u["Restart"] == ["on-failure"]
    # The control socket's default directory is the one systemd makes.
    default = conf.loads('router_id = "10.0.0.1"\nasn = 65001\n', "<defaults>").control_socket
    assert default == "/run/bgpd/bgpd.ctl" and u["RuntimeDirectory"] == ["bgpd"]
    caps = {"CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"}
    assert set(u["CapabilityBoundingSet"][0].split()) == caps
    assert set(u["AmbientCapabilities"][0].split()) == caps
    assert set(u["RestrictAddressFamilies"][0].split()) == \
        {"AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"}
    for key, value in (("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes")):
        assert u[key] == [value], key
    assert "PrivateNetwork" not in u


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_unit_file_verifies(sockdir):
    """``systemd-analyze verify`` on a copy whose commands exist here (it
    checks that each command is executable)."""
    with open(UNIT) as f:
        text = f.read()
    copy = os.path.join(sockdir, "bgpd.service")
    with open(copy, "w") as f:
        f.write(text.replace("/usr/local/bin/bgpd", shutil.which("true") or "/bin/true"))
    res = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "bgpd.service" not in res.stderr, res.stderr


# ----------------------------------------------------------------------------
# The daemon itself

def write_config(path: str, address: str, port: int, control: str, extra: str = "") -> None:
    with open(path, "w") as f:
        f.write(f'router_id = "10.0.0.1"\nasn = 65001\nlisten = ["{address}"]\n'
                f'port = {port}\ncontrol_socket = "{control}"\n{extra}')


class Daemon:
    """``bgpd run`` as a process, started with the fake systemd's socket in
    ``$NOTIFY_SOCKET`` and a one-second ``$WATCHDOG_USEC``; every step
    within one real-time deadline."""

    def __init__(self, fake: FakeSystemd, sockdir: str, lo):
        self.fake = fake
        self.address = lo.address()
        self.port = free_port(self.address)
        self.control = os.path.join(sockdir, "bgpd.ctl")
        self.config = os.path.join(sockdir, "bgpd.toml")
        write_config(self.config, self.address, self.port, self.control)
        env = dict(os.environ, PYTHONPATH=ROOT, WATCHDOG_USEC="1000000")
        env.pop("WATCHDOG_PID", None)
        self.deadline = time.monotonic() + DEADLINE
        self.proc = subprocess.Popen([sys.executable, "-m", "bgpd", "run", "-c", self.config],
                                     cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def left(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("deadline passed")
        return remaining

    def until(self, wanted: str) -> list[str]:
        """The datagram with line ``wanted`` (those before it are passed
        over); each must come from the daemon's main process."""
        seen = []
        while True:
            try:
                lines, pid = self.fake.receive(timeout=self.left())
            except TimeoutError:
                raise AssertionError(f"no {wanted} from bgpd; got {seen}") from None
            assert pid == self.proc.pid, (lines, pid)
            seen.append(lines)
            if wanted in lines:
                return lines

    def signal(self, signum) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> str:
        """Kill it if still running; its log."""
        if self.proc.poll() is None:
            self.proc.kill()
        _, err = self.proc.communicate(timeout=10)
        return err


def _status(lines: list[str]) -> str:
    [status] = [line for line in lines if line.startswith("STATUS=")]
    return status[len("STATUS="):]


def test_daemon_sends_ready(fake, env, sockdir, lo):
    """``bgpd run`` under a fake systemd: READY=1 (with a status line) once
    the control socket and the BGP listener answer, WATCHDOG=1 every half
    WatchdogSec, STOPPING=1 on SIGTERM, every one from the main process."""
    d = Daemon(fake, sockdir, lo)
    try:
        ready = d.until("READY=1")
        assert "peers established" in _status(ready), ready
        # Ready means serving: the control socket and the listener answer.
        assert ctl.request(d.control, ["show", "status"], timeout=d.left())["ok"]
        with socket.create_connection((d.address, d.port), timeout=d.left()):
            pass
        # Keep-alives: two more, half a second apart.
        d.until("WATCHDOG=1")
        d.until("WATCHDOG=1")
        d.signal(signal.SIGTERM)
        d.until("STOPPING=1")
        assert d.proc.wait(timeout=d.left()) == 0
    finally:
        err = d.stop()
    assert "Traceback" not in err, err


def test_daemon_reload_notifies(fake, env, sockdir, lo):
    """SIGHUP (``systemctl reload``): RELOADING=1 with MONOTONIC_USEC, then
    READY=1 -- with the status line after a good file, with the reason
    after a bad one (the daemon goes on with the old configuration)."""
    d = Daemon(fake, sockdir, lo)
    try:
        d.until("READY=1")
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        d.signal(signal.SIGHUP)
        reloading = d.until("RELOADING=1")
        [stamp] = [line for line in reloading if line.startswith("MONOTONIC_USEC=")]
        assert before <= int(stamp.split("=")[1]) <= \
            time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert "peers established" in _status(d.until("READY=1"))

        write_config(d.config, d.address, d.port, d.control, "hold_time = 1\n")
        d.signal(signal.SIGHUP)
        d.until("RELOADING=1")
        status = _status(d.until("READY=1"))
        assert "not applied" in status and "hold_time" in status, status
        assert ctl.request(d.control, ["show", "status"], timeout=d.left())["ok"]
        d.signal(signal.SIGTERM)
        d.until("STOPPING=1")
        assert d.proc.wait(timeout=d.left()) == 0
    finally:
        err = d.stop()
    assert "Traceback" not in err, err
