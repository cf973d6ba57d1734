"""Helpers for the daemon's tests: daemons on loopback, a scripted BGP
peer, and ways to count what a process holds.

How it works
------------
Every test gets its own block of loopback addresses (``Loopback``):
Linux answers the whole of 127.0.0.0/8 on ``lo``, so 127.X.Y.Z, with X
taken from the test process's pid and Y counted up per test, gives each
daemon and test peer an address of its own and each test a block no other
test (or test run) uses.  Ports are high and chosen free.

``daemon_config`` writes a small TOML configuration (through ``conf.loads``,
the daemon's own loader) for a daemon listening on one address.
``running_daemon`` runs a ``bgpd.daemon.Daemon`` inside the test's own
``trio.run`` and cancels it at the end; its log lines are kept
(``LogRecorder``) so tests can check what an operator would read.

``RawPeer`` is a BGP speaker written out by hand over one trio stream,
using ``wire`` to build and parse messages: it sends what the test says
(an OPEN, KEEPALIVEs, a broken UPDATE) and records what it receives.  It
has no state machine, so a test can make it misbehave.

``open_fds`` and ``task_tree`` count file descriptors (/proc/self/fd) and
trio tasks (walked from the root task) for leak checks.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket

import trio
import trio.testing

import conf
import wire
from bgpd import sockopts
from bgpd.daemon import Daemon
from wire.capabilities import FourOctetAS, GracefulRestart, Multiprotocol, RouteRefresh
from wire.constants import MessageType

_BLOCKS = itertools.count(1)


class Loopback:
    """A private block of loopback addresses: 127.X.Y.1, 127.X.Y.2, ..."""

    def __init__(self):
        # X from the pid (20..219), Y counted per test (1..250).
        self.prefix = f"127.{20 + os.getpid() % 200}.{next(_BLOCKS) % 250 + 1}"
        self._hosts = itertools.count(1)

    def address(self) -> str:
        """The next unused address of the block (from .1 up)."""
        return f"{self.prefix}.{next(self._hosts)}"

    def host(self, n: int) -> str:
        """Address .n of the block (keep n above the ones address() hands out)."""
        return f"{self.prefix}.{n}"


def free_port(address: str) -> int:
    """A TCP port nobody uses on ``address`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _table(header: str, items: dict) -> str:
    lines = [header] if header else []
    lines += [f"{k} = {_toml(v)}" for k, v in items.items() if v is not None]
    return "\n".join(lines)


# Without policies an eBGP session takes and sends nothing (RFC 8212); the
# tests' sessions take and send everything unless a test says otherwise.
OPEN_POLICY = {"import": "accept-all", "export": "accept-all"}


def daemon_config(*, router_id: str, asn: int, address: str, port: int, socket_path: str,
                  peers=(), dynamic_neighbors=(), originate=(), **top) -> conf.Config:
    """A checked configuration of one daemon listening on ``address``:``port``.

    ``peers``, ``dynamic_neighbors`` and ``originate`` are lists of dicts of
    the TOML keys of their sections; sessions get ``OPEN_POLICY`` unless
    they set their own."""
    peers = [{**OPEN_POLICY, **p} for p in peers]
    dynamic_neighbors = [{**OPEN_POLICY, **d} for d in dynamic_neighbors]
    parts = [_table("", dict(router_id=router_id, asn=asn, listen=[address], port=port,
                             control_socket=socket_path, log_level="debug", **top))]
    parts += [_table("[[peers]]", p) for p in peers]
    parts += [_table("[[dynamic_neighbors]]", d) for d in dynamic_neighbors]
    parts += [_table("[[originate]]", o) for o in originate]
    return conf.loads("\n\n".join(parts) + "\n", f"<{router_id}>")


class LogRecorder(logging.Handler):
    """Keeps every formatted log line of one daemon."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(f"{record.levelname} {record.getMessage()}")

    def grep(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


def daemon_log(name: str) -> tuple[logging.Logger, LogRecorder]:
    log = logging.getLogger(f"bgpd.test.{name}.{next(_BLOCKS)}")
    log.handlers.clear()
    recorder = LogRecorder()
    log.addHandler(recorder)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log, recorder


@contextlib.asynccontextmanager
async def running_daemon(config: conf.Config, name: str = "bgpd"):
    """Run a daemon in the current trio run; yields it (``daemon.log_lines``
    holds its log).  Cancelled, with every socket closed, on exit."""
    log, recorder = daemon_log(name)
    daemon = Daemon(config, log)
    daemon.log_lines = recorder
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        try:
            yield daemon
        finally:
            nursery.cancel_scope.cancel()


async def wait_for(predicate, what: str, poll: float | None = None,
                   timeout: float = 120):
    """Poll ``predicate`` until it holds; ``timeout`` (trio time) raises
    AssertionError naming ``what``.  Under the mock clock each poll costs a
    clock jump (``AUTOJUMP`` real seconds), so polls are a mock second apart."""
    if poll is None:
        mock = isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
        poll = 1.0 if mock else 0.02
    with trio.move_on_after(timeout):
        while True:
            value = predicate()
            if value:
                return value
            await trio.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def state_of(daemon, name: str) -> str:
    return daemon.peers[name].session.state.name if name in daemon.peers else "absent"


async def wait_state(daemon, name: str, state: str = "ESTABLISHED", timeout: float = 120):
    await wait_for(lambda: state_of(daemon, name) == state,
                   f"{name} to be {state} (is {state_of(daemon, name)})", timeout=timeout)


async def command(daemon, *words: str):
    """A control socket command, run in process (the data the socket sends)."""
    return await daemon.commands.run(list(words))


def learned(daemon, protocol: str | None = None) -> dict:
    """prefix -> row of ``show route`` for the routes in use that were
    learned from ``protocol`` (from any peer when None; the daemon's own
    originated prefixes are left out)."""
    words = ["protocol", protocol] if protocol is not None else []
    return {r["prefix"]: r for r in daemon.cmd_show_route(words)
            if r["protocol"] in daemon.peers}


def candidates(daemon, prefix: str) -> list:
    """``show route PREFIX all``: every path of the prefix, with its flags
    (best, stale, ...)."""
    return daemon.cmd_show_route([prefix, "all"])


# ----------------------------------------------------------------------------
# The scripted peer

def capabilities(asn: int, families=(wire.IPV4_UNICAST,), graceful_restart: bool = False):
    caps = [Multiprotocol(a, s) for a, s in families] + [RouteRefresh(), FourOctetAS(asn)]
    if graceful_restart:
        caps.append(GracefulRestart(120, False, True, tuple((a, s, False) for a, s in families)))
    return tuple(caps)


def open_message(asn: int, bgp_id: str, hold_time: int = 90, caps=None) -> bytes:
    caps = capabilities(asn) if caps is None else caps
    return wire.encode(wire.Open.build(asn, hold_time, int.from_bytes(
        socket.inet_aton(bgp_id), "big"), caps))


class PeerClosed(Exception):
    """The daemon closed the connection."""


class RawPeer:
    """One TCP connection speaking BGP by hand.

    ``received`` holds every ``(type, body)`` read so far; ``next()``
    returns the next message, decoded."""

    def __init__(self, stream: trio.SocketStream, asn: int, bgp_id: str):
        self.stream = stream
        self.asn = asn
        self.bgp_id = bgp_id
        self.framer = wire.Framer(wire.constants.MAX_EXTENDED_MESSAGE_LEN)
        self.pending: list = []
        self.received: list = []
        self.codec = wire.UpdateCodec(four_octet=True)

    @classmethod
    async def connect(cls, address: str, port: int, local: str, *, asn: int,
                      bgp_id: str, password: str | None = None) -> "RawPeer":
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if password is not None:
                sockopts.set_md5(sock, address, password)
            await sock.bind((local, 0))
            await sock.connect((address, port))
        except BaseException:
            sock.close()
            raise
        return cls(trio.SocketStream(sock), asn, bgp_id)

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    def open_bytes(self, hold_time: int = 90, caps=None) -> bytes:
        return open_message(self.asn, self.bgp_id, hold_time,
                            capabilities(self.asn) if caps is None else caps)

    async def send_open(self, hold_time: int = 90, caps=None) -> None:
        await self.send(self.open_bytes(hold_time, caps))

    async def send_keepalive(self) -> None:
        await self.send(wire.KEEPALIVE_BYTES)

    async def next(self):
        """The next message, decoded (UPDATEs with a 4-octet AS codec)."""
        while not self.pending:
            try:
                data = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as e:
                raise PeerClosed(str(e)) from None
            if not data:
                raise PeerClosed("connection closed by the daemon")
            self.pending.extend(self.framer.feed(data))
        mtype, body = self.pending.pop(0)
        self.received.append((mtype, body))
        return wire.decode_body(mtype, body, self.codec)

    async def expect(self, mtype: int, skip=(MessageType.KEEPALIVE, MessageType.UPDATE)):
        """The next message of type ``mtype``, passing over those of the
        types in ``skip``; any other is an AssertionError."""
        while True:
            message = await self.next()
            if message.type == mtype:
                return message
            if message.type in skip:
                continue
            raise AssertionError(f"expected {MessageType(mtype).name}, got {message!r}")

    async def handshake(self, hold_time: int = 90, caps=None):
        """OPEN both ways, then KEEPALIVE both ways: the session is up.
        Returns the daemon's OPEN."""
        await self.send_open(hold_time, caps)
        their_open = await self.expect(MessageType.OPEN)
        await self.send_keepalive()
        await self.expect(MessageType.KEEPALIVE)
        return their_open

    async def stay_up(self, seconds: float, interval: float = 30) -> None:
        """Send KEEPALIVEs for ``seconds`` so the daemon's hold timer never
        expires (what the daemon sends meanwhile is left unread)."""
        end = trio.current_time() + seconds
        while trio.current_time() < end:
            await self.send_keepalive()
            await trio.sleep(min(interval, end - trio.current_time()))

    async def drain_until_closed(self) -> list:
        """Read until the daemon closes; returns the messages read."""
        out = []
        with contextlib.suppress(PeerClosed, wire.WireError):
            while True:
                out.append(await self.next())
        return out

    async def aclose(self) -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            await self.stream.aclose()


# ----------------------------------------------------------------------------
# What a process holds

def open_fds() -> set[str]:
    """This process's open file descriptors, with what each points at."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            pass                # the fd listdir itself used, gone already
    return out


def socket_fds() -> set[str]:
    return {f for f in open_fds() if "socket:" in f}


def task_tree(root=None) -> list[str]:
    """Names of every trio task below ``root`` (default: the root task)."""
    root = root or trio.lowlevel.current_root_task()
    out = []
    stack = [root]
    while stack:
        task = stack.pop()
        out.append(task.name)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return out


# ----------------------------------------------------------------------------
# Two daemons peering with each other

AUTOJUMP = 0.01     # real seconds of idleness before the mock clock jumps


def mock_clock() -> trio.testing.MockClock:
    """Timers run at once when every task waits (loopback I/O is far faster
    than the threshold, so no jump happens while a message is in flight)."""
    return trio.testing.MockClock(autojump_threshold=AUTOJUMP)


class Pair:
    """Daemons A (AS 65001) and B (AS 65002) on two loopback addresses,
    each with the other as peer ``b`` / ``a`` and both families on the
    IPv4 session.  A originates 10.1.0.0/24 and 2001:db8:1::/48 (with an
    explicit IPv6 next hop), B 10.2.0.0/24 and 2001:db8:2::/48 (next hop:
    its session address, IPv4-mapped)."""

    A_V6_NEXT_HOP = "2001:db8::1"

    def __init__(self, lo: Loopback, sockdir: str, a_peer=None, b_peer=None, a_top=None,
                 b_top=None):
        self.a_address, self.b_address = lo.address(), lo.address()
        self.a_port, self.b_port = free_port(self.a_address), free_port(self.b_address)
        self.a_socket, self.b_socket = f"{sockdir}/a.ctl", f"{sockdir}/b.ctl"
        families = ["ipv4-unicast", "ipv6-unicast"]
        self.a = daemon_config(
            router_id="10.0.0.1", asn=65001, address=self.a_address, port=self.a_port,
            socket_path=self.a_socket,
            peers=[{**dict(name="b", address=self.b_address, asn=65002, port=self.b_port,
                           local_address=self.a_address, multihop=2, families=families,
                           connect_retry=1), **(a_peer or {})}],
            originate=[dict(prefix="10.1.0.0/24"),
                       dict(prefix="2001:db8:1::/48", next_hop=self.A_V6_NEXT_HOP)],
            **(a_top or {}))
        self.b = daemon_config(
            router_id="10.0.0.2", asn=65002, address=self.b_address, port=self.b_port,
            socket_path=self.b_socket,
            peers=[{**dict(name="a", address=self.a_address, asn=65001, port=self.a_port,
                           local_address=self.b_address, multihop=2, families=families,
                           connect_retry=1), **(b_peer or {})}],
            originate=[dict(prefix="10.2.0.0/24"), dict(prefix="2001:db8:2::/48")],
            **(b_top or {}))

    @contextlib.asynccontextmanager
    async def running(self):
        async with running_daemon(self.b, "B") as b, running_daemon(self.a, "A") as a:
            yield a, b

    @staticmethod
    async def established(a, b, timeout: float = 60):
        try:
            await wait_state(a, "b", timeout=timeout)
            await wait_state(b, "a", timeout=timeout)
        except AssertionError as e:
            raise AssertionError(f"{e}\nA's log:\n  " + "\n  ".join(a.log_lines.lines[-20:])
                                 + "\nB's log:\n  " + "\n  ".join(b.log_lines.lines[-20:]))


# ----------------------------------------------------------------------------
# UPDATE messages by hand (RFC 4271 section 4.3), right or wrong

def message(mtype: int, body: bytes) -> bytes:
    return wire.constants.MARKER + (19 + len(body)).to_bytes(2, "big") + bytes([mtype]) + body


def attribute(flags: int, code: int, value: bytes) -> bytes:
    return bytes([flags, code, len(value)]) + value


def origin(value: int = 0) -> bytes:
    return attribute(0x40, 1, bytes([value]))


def as_path(*asns: int) -> bytes:
    """One AS_SEQUENCE of 4-octet ASNs (the session negotiated RFC 6793)."""
    return attribute(0x40, 2, bytes([2, len(asns)]) + b"".join(a.to_bytes(4, "big")
                                                               for a in asns))


def next_hop(address: str) -> bytes:
    return attribute(0x40, 3, socket.inet_aton(address))


def prefix(text: str) -> bytes:
    """An IPv4 NLRI entry: length octet and the significant octets."""
    net, length = text.split("/")
    length = int(length)
    return bytes([length]) + socket.inet_aton(net)[:(length + 7) // 8]


def update_message(withdrawn: bytes = b"", attrs: bytes = b"", nlri: bytes = b"") -> bytes:
    body = len(withdrawn).to_bytes(2, "big") + withdrawn + len(attrs).to_bytes(2, "big") \
        + attrs + nlri
    return message(MessageType.UPDATE, body)


def route_update(net: str, asn: int, hop: str) -> bytes:
    """A well-formed UPDATE announcing ``net`` with AS_PATH ``asn``."""
    return update_message(attrs=origin() + as_path(asn) + next_hop(hop), nlri=prefix(net))


# ----------------------------------------------------------------------------
# One daemon and scripted peers

class Solo:
    """One daemon, AS 65001, router id 10.0.0.1, listening on the block's
    next address; peers and dynamic neighbors as the test gives them."""

    ASN = 65001

    def __init__(self, lo: Loopback, sockdir: str, peers=(), dynamic_neighbors=(), **top):
        self.address = lo.address()
        self.port = free_port(self.address)
        self.socket = f"{sockdir}/bgpd.ctl"
        self.config = daemon_config(router_id="10.0.0.1", asn=self.ASN, address=self.address,
                                    port=self.port, socket_path=self.socket, peers=peers,
                                    dynamic_neighbors=dynamic_neighbors, **top)

    def running(self):
        return running_daemon(self.config, "solo")

    async def connect(self, local: str, asn: int, bgp_id: str = "10.9.9.9",
                      password: str | None = None) -> RawPeer:
        return await RawPeer.connect(self.address, self.port, local, asn=asn, bgp_id=bgp_id,
                                     password=password)
