"""The daemons compared: for each, its configuration for a case's ``Plan``
and how to start it in the daemon namespace.

Every daemon gets the same job: AS 64512, router id 10.0.0.1, every
simulated peer configured explicitly (as Calico's generated BIRD
configuration does, one session per node), passive (the simulated peers
connect), hold time 240, IPv4 unicast only, everything imported and
exported, route-reflector clients in the iBGP cases, no kernel routes, and
logging of warnings and worse only.

=======  ==================================================================
bgpd     ours: ``python3 -m bgpd run --config F --socket S`` with the
         harness's interpreter; eBGP peers get ``import``/``export =
         "accept-all"`` (RFC 8212); no [kernel] section (no FIB work).
bird2    ``bird -f -c F -s S``; a template per kind of peer; iBGP sessions
         ``direct`` (the clients are on the shared subnet, so their next
         hops resolve without an IGP table).
bird1.6  the same with BIRD 1.6's syntax (``.lab/bird1.6``, IPv4 ``bird``).
frr      FRR's ``bgpd -Z`` alone (no zebra: no kernel routes), ``no bgp
         ebgp-requires-policy``, a peer-group per kind of peer with
         ``advertisement-interval 0``; the process measured is that bgpd
         (all its threads).
gobgp    ``gobgpd -f F`` (default policies accept), a ``[[neighbors]]`` per
         peer with ``passive-mode``; the process measured is gobgpd.
null     ``python3 -m bench.compare.null``: no routing at all, it copies
         every UPDATE it reads to every other session; the harness's own
         ceiling.
=======  ==================================================================
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

from .cases import DUT_ADDRESS, HOLD_TIME, Plan

REPO = Path(__file__).resolve().parents[2]
BIRD16 = Path(os.environ.get("BGPD_BIRD16_DIR", REPO / ".lab" / "bird1.6")) / "usr/sbin/bird"
FRR_BGPD = Path("/usr/lib/frr/bgpd")
FRR_TMPDIR = Path("/var/tmp/frr")


class Reference:
    name = ""
    measured = "the daemon's process"
    binaries: tuple = ()

    def __init__(self, workdir: str):
        self.dir = Path(workdir) / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)

    @classmethod
    def missing(cls) -> str | None:
        for b in cls.binaries:
            if shutil.which(str(b)) is None and not os.access(str(b), os.X_OK):
                return f"{b} not installed"
        return None

    def config(self, plan: Plan) -> str:
        raise NotImplementedError

    def argv(self, conf: Path) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict | None:
        return None

    def write(self, plan: Plan) -> Path:
        conf = self.dir / self.conf_name
        conf.write_text(self.config(plan))
        os.chmod(conf, 0o644)
        return conf

    conf_name = "bgp.conf"

    def after_stop(self, pid: int) -> None:
        """Remove what the daemon leaves outside its directory."""

    def version(self) -> str:
        return ""


class Bgpd(Reference):
    name = "bgpd"
    measured = "the Python process"
    conf_name = "bgpd.toml"
    binaries = (sys.executable,)

    def config(self, plan: Plan) -> str:
        out = [f'router_id = "{plan.router_id}"', f"asn = {plan.asn}",
               f'listen = ["{DUT_ADDRESS}"]', 'log_level = "warning"',
               f'control_socket = "{self.dir / "bgpd.ctl"}"', "",
               "[defaults]", "passive = true", f"hold_time = {HOLD_TIME}",
               'families = ["ipv4-unicast"]', f'local_address = "{DUT_ADDRESS}"']
        for p in plan.peers:
            out += ["", "[[peers]]", f'name = "{p.name}"', f'address = "{p.address}"',
                    f"asn = {p.asn}"]
            if p.rr_client:
                out.append("route_reflector_client = true")
            if p.ebgp:
                out += ['import = "accept-all"', 'export = "accept-all"']
        return "\n".join(out) + "\n"

    def argv(self, conf: Path) -> list[str]:
        # BENCH_COMPARE_PROFILE=FILE: run under cProfile, stats written to
        # FILE when the daemon exits (SIGTERM ends it cleanly).
        profile = os.environ.get("BENCH_COMPARE_PROFILE")
        pre = ["-m", "cProfile", "-o", profile] if profile else []
        return [sys.executable, *pre, "-m", "bgpd", "run", "--config", str(conf),
                "--socket", str(self.dir / "bgpd.ctl")]

    def env(self) -> dict:
        return {"PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _bird_templates(plan: Plan, v1: bool) -> list[str]:
    """A template per kind of peer and a protocol per peer, BIRD 1.6 (v1)
    or BIRD 2 syntax."""
    out = [f"router id {plan.router_id};", "log stderr { warning, error, fatal, bug };",
           "protocol device { scan time 60; }"]
    for kind, ibgp in (("ext", False), ("rrc", True)):
        common = [f"local {DUT_ADDRESS} as {plan.asn};", "passive on;",
                  f"hold time {HOLD_TIME};"]
        if ibgp:
            # Directly connected (as eBGP is by default): TTL 1 and next
            # hops resolved on the shared subnet, no IGP table needed.
            common += ["rr client;", "direct;"]
        chan = ["import all;", "export all;"] if v1 else ["ipv4 { import all; export all; };"]
        out.append(f"template bgp {kind} {{ " + " ".join(common + chan) + " }")
    for p in plan.peers:
        kind = "ext" if p.ebgp else "rrc"
        out.append(f"protocol bgp {p.name} from {kind} {{ neighbor {p.address} as {p.asn}; }}")
    return out


class Bird2(Reference):
    name = "bird2"
    binaries = ("bird",)

    def config(self, plan: Plan) -> str:
        return "\n".join(_bird_templates(plan, v1=False)) + "\n"

    def binary(self) -> str:
        return "bird"

    def argv(self, conf: Path) -> list[str]:
        return [self.binary(), "-f", "-c", str(conf), "-s", str(self.dir / "bird.ctl"),
                "-P", str(self.dir / "bird.pid")]


class Bird16(Bird2):
    name = "bird1.6"
    binaries = (BIRD16,)

    def config(self, plan: Plan) -> str:
        return "\n".join(_bird_templates(plan, v1=True)) + "\n"

    def binary(self) -> str:
        return str(BIRD16)


class Frr(Reference):
    name = "frr"
    measured = "bgpd (run without zebra; all its threads)"
    binaries = (FRR_BGPD,)

    def config(self, plan: Plan) -> str:
        out = ["frr defaults traditional", "hostname dut", "!",
               f"router bgp {plan.asn}", f" bgp router-id {plan.router_id}",
               " no bgp ebgp-requires-policy", " no bgp default ipv4-unicast",
               " no bgp network import-check"]
        groups = {}
        for p in plan.peers:
            g = "RRC" if p.rr_client else f"AS{p.asn}"
            if g not in groups:
                groups[g] = p
                out += [f" neighbor {g} peer-group", f" neighbor {g} remote-as {p.asn}",
                        f" neighbor {g} passive", f" neighbor {g} timers {HOLD_TIME // 3} "
                        f"{HOLD_TIME}", f" neighbor {g} advertisement-interval 0",
                        f" neighbor {g} update-source {DUT_ADDRESS}"]
            out.append(f" neighbor {p.address} peer-group {g}")
        out.append(" address-family ipv4 unicast")
        for g, p in groups.items():
            out.append(f"  neighbor {g} activate")
            if p.rr_client:
                out.append(f"  neighbor {g} route-reflector-client")
        out += [" exit-address-family", "!"]
        return "\n".join(out) + "\n"

    def argv(self, conf: Path) -> list[str]:
        return [str(FRR_BGPD), "-Z", "-S", "-f", str(conf), "-i", str(self.dir / "bgpd.pid"),
                "--vty_socket", str(self.dir), "-P", "0", "--log", "stdout",
                "--log-level", "warnings"]

    def after_stop(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(FRR_TMPDIR / f"bgpd.{pid}")


class GoBgp(Reference):
    name = "gobgp"
    conf_name = "gobgpd.toml"
    binaries = ("gobgpd",)

    def config(self, plan: Plan) -> str:
        t = ["[global.config]", f"  as = {plan.asn}", f'  router-id = "{plan.router_id}"',
             "  port = 179", f'  local-address-list = ["{DUT_ADDRESS}"]']
        for p in plan.peers:
            t += ["", "[[neighbors]]", "  [neighbors.config]",
                  f'    neighbor-address = "{p.address}"', f"    peer-as = {p.asn}",
                  "  [neighbors.timers.config]", f"    hold-time = {HOLD_TIME}",
                  f"    keepalive-interval = {HOLD_TIME // 3}",
                  "  [neighbors.transport.config]", "    passive-mode = true",
                  f'    local-address = "{DUT_ADDRESS}"']
            if p.rr_client:
                t += ["  [neighbors.route-reflector.config]",
                      "    route-reflector-client = true",
                      f'    route-reflector-cluster-id = "{plan.router_id}"']
            t += ["  [[neighbors.afi-safis]]", "    [neighbors.afi-safis.config]",
                  '      afi-safi-name = "ipv4-unicast"']
        return "\n".join(t) + "\n"

    def argv(self, conf: Path) -> list[str]:
        return ["gobgpd", "-f", str(conf), "-t", "toml", "--api-hosts",
                f"unix://{self.dir / 'gobgp.sock'}", "--pprof-disable", "-p", "-l", "warn"]


class Null(Reference):
    name = "null"
    measured = "the relay process"
    binaries = (sys.executable,)

    def config(self, plan: Plan) -> str:
        return f"{plan.asn} {plan.router_id}\n"

    def argv(self, conf: Path) -> list[str]:
        return [sys.executable, "-m", "bench.compare.null", "--config", str(conf)]

    def env(self) -> dict:
        return {"PYTHONPATH": str(REPO)}


REFERENCES = {cls.name: cls for cls in (Null, Bgpd, Bird2, Bird16, Frr, GoBgp)}
