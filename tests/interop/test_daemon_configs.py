"""The launchers' configuration writers, checked by the daemons themselves.

Each reference daemon parses the configuration its launcher writes for the
capture scenario (eBGP and iBGP neighbours, TCP MD5 password, passive
sessions, route-reflector clients, every route attribute) in its own
parse-only mode: ``bird -p``, ``bgpd -C``, ``gobgpd -d``, ``exabgp
--validate``.  No namespace, no root: a broken writer is caught here in
well under a second rather than by a lab test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import scenario
from .daemons import DAEMONS, Bird16, Neighbor


class _Workdir:
    """Stands in for a Lab where only files are needed."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name


def _neighbors(case) -> list[Neighbor]:
    out = []
    for i, s in enumerate(case.sessions):
        out.append(Neighbor(
            address=s.peer_address, asn=s.peer_as, local_address=s.daemon_address,
            name=f"peer_{i}", passive=i % 2 == 0, password="s3cret" if i == 0 else None,
            families=tuple("ipv4" if f == scenario.IPV4 else "ipv6" for f in s.families),
            next_hop_v6=scenario.DAEMON_V6, rr_client=s.ibgp, import_routes=s.ibgp))
    return out


@pytest.mark.parametrize("kind", list(scenario.CASES))
def test_config_parses(kind, tmp_path):
    cls = DAEMONS[kind]
    missing = cls.missing()
    if missing:
        pytest.skip(missing)
    case = scenario.CASES[kind]
    common = dict(asn=scenario.DAEMON_AS, router_id=scenario.DAEMON_ID, routes=case.routes())
    nbs = _neighbors(case)
    if cls is Bird16:
        daemons = [Bird16(_Workdir(tmp_path), None, family=v,
                          neighbors=[n for n, s in zip(nbs, case.sessions)
                                     if s.daemon_process == v], **common)
                   for v in (4, 6)]
    else:
        daemons = [cls(_Workdir(tmp_path), None, neighbors=nbs, **common)]
    for d in daemons:
        d.check_config()
        text = d.config_path.read_text()
        assert str(scenario.DAEMON_AS) in text
        assert "s3cret" in text or not any(n.password for n in d.neighbors)


@pytest.mark.parametrize("kind", list(scenario.CASES))
def test_broken_config_is_refused(kind, tmp_path):
    """The check really checks: garbage appended to a good configuration
    is refused."""
    cls = DAEMONS[kind]
    if cls.missing():
        pytest.skip(cls.missing())
    case = scenario.CASES[kind]
    kw = dict(asn=scenario.DAEMON_AS, router_id=scenario.DAEMON_ID, routes=case.routes(),
              neighbors=_neighbors(case)[:1], extra_config="this is not a configuration")
    d = Bird16(_Workdir(tmp_path), None, family=4, **kw) if cls is Bird16 \
        else cls(_Workdir(tmp_path), None, **kw)
    with pytest.raises(Exception, match="refused"):
        d.check_config()
