"""The daemon: listeners, one task per peer, the control sockets, the
kernel FIB, metrics, systemd, signals.

Structured concurrency throughout: one nursery holds the listeners, the
control socket (and the BIRD-compatible one, and the metrics endpoint), the
kernel FIB's tasks and every peer's own nursery; cancelling it (SIGTERM, or
the end of a test) closes every socket in ``finally`` blocks.  SIGTERM and
SIGINT first send Cease / Administrative Shutdown (RFC 4486, with an RFC
9003 message) to every established peer and give the NOTIFICATIONs a moment
to leave.  SIGHUP reads the configuration file again and applies the
difference (``reconfigure``).

Start order: control socket, listeners, the kernel FIB (which says whether
our routes outlived the last run: then we are restarting, RFC 4724 4.1),
then the peers, then READY=1 to systemd.
"""

from __future__ import annotations

import errno
import functools
import signal
import socket
import time

import trio

from conf.model import address as normal_address
from wire.attributes import AttributeCache

from . import birdsock, control, net, reconfigure, sockopts, systemd
from .fib import Fib
from .metrics import Metrics, serve as serve_metrics
from .peer import PeerTask
from .routing import Routing
from .runtime import tune_gc

VERSION = "0.1.0"
SHUTDOWN_GRACE = 3.0
SHUTDOWN_MESSAGE = "bgpd shutting down"


class Daemon:
    def __init__(self, config, log, config_path: str | None = None):
        self.config = config
        self.config_path = config_path or config.source
        self.log = log
        self.started_wall = time.time()
        # Interned attribute sets, one cache per ASN width, shared by peers.
        self._caches = {True: AttributeCache(True), False: AttributeCache(False)}
        self.routes = Routing(config, log)
        self.fib = Fib(config, self.routes, log) if config.kernel is not None else None
        self.metrics = Metrics(self)
        self.routes.on_decision = self.metrics.decision
        if self.fib is not None:
            self.fib.on_batch = self.metrics.kernel_batch
        # RFC 4724 4.1: we restarted and our routes stayed in the kernel.
        self.graceful_restart_recovering = False
        self.routes.on_recovered.append(self._recovered)
        self.peers: dict[str, PeerTask] = {}
        self._by_address: dict = {}
        self._retiring: set = set()     # addresses of peers being replaced
        self._nursery: trio.Nursery | None = None
        self._listeners: list = []
        self.commands = self._command_table()

    def status_line(self) -> str:
        """The line ``systemctl status`` shows."""
        up = sum(1 for t in self.peers.values() if t.session.negotiated is not None)
        routes = sum(c["selected"] for c in self.routes.rib.counts().values())
        return systemd.status_line(up, len(self.peers), routes)

    def attribute_cache(self, four_octet: bool) -> AttributeCache:
        return self._caches[four_octet]

    # ------------------------------------------------------------------
    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        tune_gc()
        cfg = self.config
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await nursery.start(control.serve, cfg.control_socket, self.commands, self.log,
                                    cfg.control_socket_mode)
                if cfg.bird_control_socket:
                    await nursery.start(functools.partial(
                        birdsock.serve, cfg.bird_control_socket, self, self.log,
                        mode=cfg.control_socket_mode, flavour=cfg.bird_control_flavour))
                if cfg.metrics is not None:
                    host, port = cfg.metrics.listen
                    await nursery.start(serve_metrics, self, self.metrics, host, port)
                await self._open_listeners()
                if self.fib is not None:
                    await nursery.start(self.fib.run)
                    if self.fib.recovering:
                        self._begin_recovery(nursery)
                # Every configured peer's task runs before the first accept,
                # so an incoming connection always finds its session ready.
                for peer in cfg.peers:
                    await self.add_peer(peer)
                for sock in self._listeners:
                    nursery.start_soon(self._accept_loop, sock)
                nursery.start_soon(self._signals)
                self.log.info("bgpd %s started: router id %s, AS %d, %d peers, listening on %s",
                              VERSION, cfg.router_id, cfg.asn, len(cfg.peers),
                              ", ".join(f"[{a}]:{cfg.port}" for a in cfg.listen) or "nothing")
                await nursery.start(functools.partial(systemd.watchdog, self.status_line,
                                                      log=self.log))
                systemd.ready(self.status_line(), log=self.log)
                task_status.started(self)
        finally:
            for sock in self._listeners:
                sock.close()
            self.log.info("bgpd stopped")

    def _begin_recovery(self, nursery) -> None:
        """Our routes outlived the last run: announce that we restart
        (R bit), decide once the peers have sent everything, then sweep."""
        self.routes.begin_recovery(self.config.peers)
        if not self.routes.recovering:
            nursery.start_soon(self.fib.sweep)
            return
        self.graceful_restart_recovering = True
        nursery.start_soon(self._recovery_timer, self.config.kernel.gr_time)

    async def _recovery_timer(self, seconds: float) -> None:
        await trio.sleep(seconds)
        self.routes.end_recovery(f"{seconds:g}s restart timer expired")

    def _recovered(self) -> None:
        self.graceful_restart_recovering = False
        for task in self.peers.values():
            task.restart_state(False)
        if self.fib is not None:
            self._nursery.start_soon(self.fib.sweep)

    async def add_peer(self, peer, dynamic: bool = False) -> PeerTask:
        task = PeerTask(self, peer, dynamic)
        # Known to the accept loop only once it runs: a connection handed
        # to it earlier would find no nursery.
        await self._nursery.start(task.run)
        self.peers[peer.name] = task
        self._by_address[normal_address(peer.address)] = task
        return task

    # ------------------------------------------------------------------
    # Reconfiguration (bgpd.reconfigure)
    def start_peer(self, peer) -> None:
        self._nursery.start_soon(self.add_peer, peer)

    def retire(self, task: PeerTask, notification, then=None) -> None:
        """Stop a peer for good with ``notification``; with ``then`` (a
        conf.Peer) start its new session once the old one is gone."""
        task.handle(task.session.stop(task.now(), notification))
        self.routes.down(task, False)
        if self.peers.get(task.name) is task:
            del self.peers[task.name]
        address = normal_address(task.peer.address)
        if self._by_address.get(address) is task:
            del self._by_address[address]
        # Until the new session exists, a connection from the peer is
        # refused (it retries) rather than made a second session.
        self._retiring.add(address)

        async def retire():
            try:
                await reconfigure.wait_gone(task)
                if then is not None:
                    await self.add_peer(then)
            finally:
                self._retiring.discard(address)
        self._nursery.start_soon(retire)

    def listener_keys(self, config) -> None:
        """TCP MD5 keys of new or changed peers on the listeners."""
        for sock in self._listeners:
            family = sock.family
            for peer in config.peers:
                if peer.password and (peer.address.version == 4) == (family == socket.AF_INET):
                    try:
                        sockopts.set_md5(sock, str(peer.address).split("%")[0], peer.password)
                    except OSError as e:
                        self.log.warning("cannot set the TCP MD5 key of %s: %s", peer.name,
                                         net.describe_os_error(e))

    def set_log_level(self, level: str) -> None:
        self.log.setLevel(level.upper())

    def configure(self, check: bool = False) -> dict:
        return reconfigure.configure(self, check=check)

    async def _open_listeners(self) -> None:
        cfg = self.config
        for addr in cfg.listen:
            try:
                sock = await net.open_listener(str(addr), cfg.port)
            except OSError as e:
                if addr.version == 6 and e.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                    self.log.warning("not listening on [%s]:%d: %s", addr, cfg.port,
                                     net.describe_os_error(e))
                    continue
                raise OSError(e.errno, f"cannot listen on [{addr}]:{cfg.port}: "
                                       f"{net.describe_os_error(e)}") from None
            # RFC 2385: the kernel checks signatures before accept(), so
            # every peer's key is installed on the listener of its family.
            for peer in cfg.peers:
                if peer.password and peer.address.version == addr.version:
                    sockopts.set_md5(sock, str(peer.address).split("%")[0], peer.password)
            for dn in cfg.dynamic_neighbors:
                if dn.password and dn.prefix.version == addr.version:
                    sockopts.set_md5(sock, str(dn.prefix.network_address), dn.password,
                                     dn.prefix.prefixlen)
            self._listeners.append(sock)

    async def _accept_loop(self, sock) -> None:
        while True:
            try:
                conn, remote = await sock.accept()
            except OSError as e:
                self.log.warning("accept failed: %s", net.describe_os_error(e))
                await trio.sleep(0.1)
                continue
            stream = trio.SocketStream(conn)
            ip = normal_address(remote[0])
            task = self._by_address.get(ip)
            if task is None and ip in self._retiring:
                self.log.info("connection from %s refused: its session is being replaced", ip)
                await stream.aclose()
                continue
            if task is None:
                peer = self.config.peer_for(ip)
                if peer is None:
                    self.log.warning("connection from %s refused: not a configured peer", ip)
                    await stream.aclose()
                    continue
                task = await self.add_peer(peer, dynamic=True)
            task.incoming(stream)

    async def _signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async for signum in signals:
                if signum == signal.SIGHUP:
                    self.log.info("SIGHUP: reading %s again", self.config_path)
                    systemd.reloading(log=self.log)
                    result = self.configure()
                    systemd.ready(self.status_line() if result["ok"] else
                                  "configuration not applied: " + "; ".join(
                                      f"{e['key']}: {e['reason']}" for e in result["errors"]),
                                  log=self.log)
                    continue
                self.log.info("%s: shutting down", signal.Signals(signum).name)
                await self.shutdown()
                return

    async def shutdown(self, message: str = SHUTDOWN_MESSAGE) -> None:
        """Cease / Administrative Shutdown to every peer, then stop."""
        systemd.stopping(log=self.log)
        for task in list(self.peers.values()):
            task.disable(message)
        with trio.move_on_after(SHUTDOWN_GRACE):
            while any(t.streams for t in self.peers.values()):
                await trio.sleep(0.05)
        self._nursery.cancel_scope.cancel()

    # ------------------------------------------------------------------
    # The control socket's commands
    def _command_table(self) -> control.Commands:
        c = control.Commands()
        c.add("show status", self.cmd_show_status, "version, router id, uptime")
        c.add("show protocols", self.cmd_show_protocols, "sessions, one line each")
        c.add("show protocols all", self.cmd_show_protocols_all, "sessions in detail")
        c.add("show route", self.cmd_show_route,
              "best routes; PREFIX all / for ADDRESS all explain the choice")
        c.add("show kernel", self.cmd_show_kernel, "our kernel routes and their sync state")
        c.add("configure", self.cmd_configure,
              "read the configuration file again and apply it (configure check: only check)")
        c.add("enable", self.cmd_enable, "start a session")
        c.add("disable", self.cmd_disable, "stop a session (Cease, Administrative Shutdown)")
        c.add("restart", self.cmd_restart, "restart a session (Cease, Administrative Reset)")
        c.add("reload in", self.cmd_reload_in, "ask a peer to send its routes again (ROUTE-REFRESH)")
        c.add("reload out", self.cmd_reload_out, "send a peer our routes again")
        c.add("reload", self.cmd_reload, "reload in and out")
        c.add("help", lambda args: [{"command": k, "help": v} for k, v in c.help()], "")
        return c

    def _peer(self, name: str) -> PeerTask:
        task = self.peers.get(name)
        if task is None:
            known = ", ".join(sorted(self.peers)) or "none"
            raise control.CommandError(f"no protocol named {name!r}; protocols: {known}")
        return task

    def cmd_show_status(self, args):
        up = sum(1 for t in self.peers.values() if t.session.negotiated is not None)
        return {"version": VERSION, "router_id": str(self.config.router_id),
                "asn": self.config.asn, "started": self.started_wall,
                "peers": len(self.peers), "peers_established": up,
                "graceful_restart_recovering": self.graceful_restart_recovering,
                "message": "Daemon is up and running"}

    def cmd_show_protocols(self, args):
        tasks = [self._peer(args[0])] if args else self.peers.values()
        return [t.summary() for t in tasks]

    def cmd_show_protocols_all(self, args):
        tasks = [self._peer(args[0])] if args else self.peers.values()
        return [t.detail() for t in tasks]

    def cmd_show_route(self, args):
        """show route [PREFIX | for ADDRESS] [all] [protocol NAME] [count]"""
        opts = {"protocol": None, "prefix": None, "address": None, "all_candidates": False}
        count = False
        export = None
        words = list(args)
        while words:
            w = words.pop(0)
            if w == "export" and words:
                export = self._peer(words.pop(0)).name
            elif w == "protocol" and words:
                opts["protocol"] = self._peer(words.pop(0)).name
            elif w == "for" and words:
                opts["address"] = self._address(words.pop(0))
            elif w == "count":
                count = True
            elif w == "all":
                opts["all_candidates"] = True
            elif "/" in w and opts["prefix"] is None:
                opts["prefix"] = self._prefix(w)
            else:
                raise control.CommandError(
                    f"show route: unexpected {w!r} (use: show route [PREFIX | for ADDRESS] "
                    "[all] [protocol NAME] [count] [export NAME])")
        if export is not None:
            routes = self.routes.show_export(self.peers[export], opts["prefix"])
            if count:
                return {"count": len(routes), "total": len(routes),
                        "prefixes": len({r["prefix"] for r in routes})}
            return routes
        routes = self.routes.show(self.peers.values(), **opts)
        if self.fib is not None and not count:
            for row in routes:
                row["interface"] = ", ".join(self.fib.interfaces_of(row["prefix"]))
        if count:
            return {"count": len(routes), "total": len(routes),
                    "prefixes": len({r["prefix"] for r in routes})}
        return routes

    def cmd_show_kernel(self, args):
        if self.fib is None:
            raise control.CommandError("no [kernel] table in the configuration: "
                                       "the daemon does not touch the kernel's routes")
        routes = self.fib.routes()
        if args:
            prefix = self._prefix(args[0])
            routes = [r for r in routes if r["prefix"] == prefix]
        return {"routes": routes, "status": self.fib.status()}

    @staticmethod
    def _address(text: str) -> str:
        import ipaddress
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise control.CommandError(f"{text!r} is not an IP address") from None

    @staticmethod
    def _prefix(text: str) -> str:
        import ipaddress
        try:
            return str(ipaddress.ip_network(text, strict=True))
        except ValueError as e:
            raise control.CommandError(f"{text!r} is not a prefix: {e}") from None

    def cmd_configure(self, args):
        if args and args != ["check"]:
            raise control.CommandError("configure: use 'configure' or 'configure check'")
        return self.configure(check=bool(args))

    def cmd_enable(self, args):
        task = self._peer(self._name_arg(args, "enable"))
        task.enable()
        return f"{task.name}: enabled"

    def cmd_disable(self, args):
        task = self._peer(self._name_arg(args, "disable"))
        task.disable(" ".join(args[1:]))
        return f"{task.name}: disabled"

    def cmd_restart(self, args):
        task = self._peer(self._name_arg(args, "restart"))
        task.restart(" ".join(args[1:]))
        return f"{task.name}: restarted"

    def cmd_reload_in(self, args):
        task = self._peer(self._name_arg(args, "reload in"))
        sent = task.request_refresh()
        if not sent:
            raise control.CommandError(f"{task.name}: cannot ask for a refresh (session not "
                                       "established or peer lacks the route refresh capability)")
        return f"{task.name}: route refresh requested for {', '.join(sent)}"

    def cmd_reload_out(self, args):
        task = self._peer(self._name_arg(args, "reload out"))
        if task.session.negotiated is None:
            raise control.CommandError(f"{task.name}: session not established")
        for family in sorted(task.session.families):
            self.routes.refresh(task, family, 0)
        task.handle([])
        return f"{task.name}: routes sent again"

    def cmd_reload(self, args):
        return [self.cmd_reload_in(args), self.cmd_reload_out(args)]

    @staticmethod
    def _name_arg(args, verb: str) -> str:
        if not args:
            raise control.CommandError(f"{verb}: which protocol? ({verb} NAME)")
        return args[0]
