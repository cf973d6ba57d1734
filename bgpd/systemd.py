"""systemd integration: the sd_notify(3) protocol in pure Python.

How it works
------------
systemd starts a ``Type=notify`` service with ``$NOTIFY_SOCKET`` naming a
UNIX datagram socket: a path (``/run/systemd/notify``) or, when it starts
with ``@``, a name in the abstract namespace (the ``@`` stands for the
leading NUL octet).  The service tells systemd about itself by sending it
one datagram of newline-separated ``KEY=VALUE`` lines:

    READY=1                 start-up is done (``systemctl start`` returns)
    STATUS=...              one line shown by ``systemctl status``
    WATCHDOG=1              still alive (``WatchdogSec=``)
    RELOADING=1             a reload began; READY=1 ends it.  With it goes
    MONOTONIC_USEC=...      CLOCK_MONOTONIC in microseconds (systemd 253's
                            ``Type=notify-reload`` wants it to tell reloads apart)
    STOPPING=1              shutdown began

Without ``$NOTIFY_SOCKET`` (run by hand, in a test, under another service
manager) every call is a no-op that returns False.

The watchdog: with ``WatchdogSec=`` set, systemd passes ``$WATCHDOG_USEC``
(and ``$WATCHDOG_PID``, the process meant by it) and restarts the service
when no ``WATCHDOG=1`` arrives within that time.  ``watchdog()`` is a trio
task that sends it every half interval *from the event loop*, so a wedged
loop (a blocking call, a busy loop) stops the keep-alives and gets the
daemon restarted, while a busy but healthy loop keeps it alive.  The same
task refreshes ``STATUS=`` every ``status_every`` seconds from a function
the daemon passes (e.g. "3/4 peers established, 1200 routes").

Sending never blocks the event loop: the socket is non-blocking and a
datagram systemd cannot take right now (its queue full) is dropped and
logged; the next keep-alive, half an interval later, tries again.
"""

from __future__ import annotations

import logging
import os
import socket
import time

import trio

STATUS_EVERY = 10.0         # seconds between STATUS= refreshes by watchdog()
LOG_NAME = "bgpd"


def _address(name: str) -> str | None:
    """The socket address of ``$NOTIFY_SOCKET``: a path, or an abstract name
    (``@name`` -> ``\\0name``).  Other forms (systemd 254's ``vsock:``) are
    not ours to speak: None."""
    if name.startswith("/"):
        return name
    if name.startswith("@") and len(name) > 1:
        return "\0" + name[1:]
    return None


def notify(*lines: str, log: logging.Logger | None = None) -> bool:
    """Send ``lines`` (``"KEY=VALUE"``) to systemd in one datagram.

    True when sent; False when not run by systemd (no ``$NOTIFY_SOCKET``)
    or when the datagram could not be sent (logged as a warning)."""
    name = os.environ.get("NOTIFY_SOCKET")
    if not name or not lines:
        return False
    address = _address(name)
    if address is None:
        (log or logging.getLogger(LOG_NAME)).warning(
            "NOTIFY_SOCKET=%r: not a path or an abstract socket name; not notifying", name)
        return False
    data = "\n".join(lines).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.setblocking(False)
            s.sendto(data, address)
        return True
    except OSError as e:
        (log or logging.getLogger(LOG_NAME)).warning(
            "cannot notify systemd at %s (%s): %s", name, ", ".join(lines), e)
        return False


def _one_line(text: str) -> str:
    # A newline would start a new KEY=VALUE assignment.
    return " ".join(str(text).split("\n"))


def status(text: str, log=None) -> bool:
    """STATUS=: the line ``systemctl status`` shows."""
    return notify(f"STATUS={_one_line(text)}", log=log)


def ready(status: str | None = None, log=None) -> bool:
    """READY=1 (with a STATUS= line): start-up, or a reload, is done."""
    lines = ["READY=1"]
    if status is not None:
        lines.append(f"STATUS={_one_line(status)}")
    return notify(*lines, log=log)


def monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def reloading(status: str | None = "Reloading configuration", log=None) -> bool:
    """RELOADING=1 with MONOTONIC_USEC: a reload began (``ready()`` ends it).
    systemd >= 253 with ``Type=notify-reload`` matches the timestamp against
    the moment it sent the reload signal."""
    lines = ["RELOADING=1", f"MONOTONIC_USEC={monotonic_usec()}"]
    if status is not None:
        lines.append(f"STATUS={_one_line(status)}")
    return notify(*lines, log=log)


def stopping(status: str | None = "Shutting down", log=None) -> bool:
    """STOPPING=1: shutdown began (systemd stops waiting for keep-alives)."""
    lines = ["STOPPING=1"]
    if status is not None:
        lines.append(f"STATUS={_one_line(status)}")
    return notify(*lines, log=log)


def extend_timeout(seconds: float, log=None) -> bool:
    """EXTEND_TIMEOUT_USEC: start-up (or stop) needs ``seconds`` more, e.g.
    while a large kernel table is reconciled."""
    return notify(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}", log=log)


def watchdog_interval() -> float | None:
    """Seconds between keep-alives: half of ``$WATCHDOG_USEC``, as
    sd_watchdog_enabled(3) advises; None when no watchdog is asked of this
    process (unset or invalid, or ``$WATCHDOG_PID`` names another process)."""
    pid = os.environ.get("WATCHDOG_PID")
    if pid is not None:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    return usec / 2 / 1_000_000


def status_line(established: int, peers: int, routes: int) -> str:
    """What the daemon shows in ``systemctl status``."""
    return f"{established}/{peers} peers established, {routes} routes"


async def watchdog(status_fn=None, status_every: float = STATUS_EVERY, log=None,
                   task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Keep systemd's watchdog fed and its status line fresh, until cancelled.

    Sends WATCHDOG=1 at once and then every ``watchdog_interval()``
    seconds, and STATUS= from ``status_fn()`` (plain or async) at once and
    then every ``status_every`` seconds.  Returns at once when there is
    nothing to do (not run by systemd, or neither a watchdog nor a
    ``status_fn``).  ``task_status.started()`` gets the keep-alive interval
    (or None)."""
    log = log or logging.getLogger(LOG_NAME)
    interval = watchdog_interval() if os.environ.get("NOTIFY_SOCKET") else None
    task_status.started(interval)
    if not os.environ.get("NOTIFY_SOCKET") or (interval is None and status_fn is None):
        return
    now = trio.current_time()
    next_keepalive = now if interval is not None else float("inf")
    next_status = now if status_fn is not None else float("inf")
    while True:
        await trio.sleep_until(min(next_keepalive, next_status))
        now = trio.current_time()
        lines = []
        if now >= next_keepalive:
            lines.append("WATCHDOG=1")
            next_keepalive = _next(next_keepalive, interval, now)
        if now >= next_status:
            text = await _status_text(status_fn, log)
            if text is not None:
                lines.append(f"STATUS={_one_line(text)}")
            next_status = _next(next_status, status_every, now)
        if lines:
            notify(*lines, log=log)


def _next(deadline: float, period: float, now: float) -> float:
    """The next deadline on the grid; after a loop held up past several,
    one period from now (no burst of keep-alives to catch up)."""
    deadline += period
    return deadline if deadline > now else now + period


async def _status_text(status_fn, log) -> str | None:
    try:
        text = status_fn()
        if hasattr(text, "__await__"):
            text = await text
        return text
    except Exception:
        # A broken status line must not stop the keep-alives.
        log.exception("status line for systemd failed")
        return None
