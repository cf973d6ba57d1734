"""Properties: any document gives a Config or a ConfigError, never another
exception; valid values come back as they were written."""

import ipaddress

from hypothesis import given, settings, strategies as st

import conf
from conf.schema import SECTIONS, TOP

KEYS = sorted({f.name for f in TOP} | {f.name for _, fs in SECTIONS.values() for f in fs}
              | {"pasword", "neighbors"})

scalars = st.one_of(
    st.booleans(), st.integers(-2, 2**33), st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["10.0.0.1", "::1", "fe80::1", "10.0.0.0/8", "2001:db8::/32", "0660",
                     "ipv4-unicast", "both", "65000:1", "NO_EXPORT", "1:2:3", "rt:1:2"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=8)
tables = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)
documents = st.fixed_dictionaries(
    {},
    optional={"router_id": st.sampled_from(["10.0.0.1", "0.0.0.0", "x"]),
              "asn": st.integers(-1, 2**33),
              "listen": st.lists(scalars, max_size=2),
              "defaults": tables,
              "peers": st.lists(tables, max_size=3),
              "dynamic_neighbors": st.lists(tables, max_size=2),
              "originate": st.lists(tables, max_size=2)})


@settings(max_examples=120, deadline=None)
@given(documents)
def test_any_document_gives_config_or_config_error(doc):
    try:
        config = conf.from_document(doc)
    except conf.ConfigError as e:
        assert e.problems
        assert all(isinstance(p, conf.Problem) and p.reason for p in e.problems)
    else:
        assert isinstance(config, conf.Config)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 2**32 - 1).filter(lambda n: n != 23456),
       st.ip_addresses().filter(lambda a: not (a.is_multicast or a.is_unspecified
                                               or a.is_link_local
                                               or getattr(a, "ipv4_mapped", None) is not None)),
       st.integers(0, 65535).filter(lambda h: h == 0 or h >= 3))
def test_valid_values_round_trip(asn, address, hold):
    c = conf.from_document({"router_id": "10.0.0.1", "asn": 64512,
                            "peers": [{"address": str(address), "asn": asn,
                                       "hold_time": hold}]})
    (peer,) = c.peers
    assert peer.address == ipaddress.ip_address(str(address))
    assert peer.asn == asn and peer.hold_time == hold
    assert peer.keepalive == hold // 3
    assert peer.is_ibgp == (asn == 64512)
    assert c.peer_by_address(address) is peer
