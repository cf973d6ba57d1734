"""The attribute changes of export (RFC 4271 5.1, RFC 4456 section 8,
RFC 4760, RFC 6793) as the receiving peer decodes them, and the in-place
rewriting of attribute blocks against ``Attributes.replace()``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rib.policy import Policy
from reflector import NextHop
from reflector.rewrite import Prepend, block, resolve, rewrite
from wire.attributes import decode_attributes, make
from wire.constants import AS_TRANS

from reflector_testlib import (LOCAL_AS, V4, V6, Receiver, announce, announce6, attrs, drain,
                               nh, originate, params, peer, policies, stack, step)

ACCEPT = Policy("accept-all", (), True)
E = peer("E", "192.0.2.1", 65001)
I = peer("I", "10.0.0.1", rr_client=True)


def export_one(route_from, a, target, prm, prefix="10.1.0.0/24", *, local=False,
               fam=V4, mp_next_hop=None, receiver=None, **ex_kw):
    """Send one route from ``route_from`` to ``target``; what the target got."""
    rib, ex = stack(**ex_kw)
    if local:
        originate(rib, prefix, **a)
    else:
        rib.peer_up(route_from, families=(fam,))
        if fam == V4:
            rib.apply_update(route_from, announce([prefix], a))
        else:
            rib.apply_update(route_from, announce6([prefix], a, mp_next_hop))
    ex.peer_up(target, prm)
    r = receiver or Receiver(four_octet=prm.four_octet)
    drain(ex, target.name, r)
    step(rib, ex)
    drain(ex, target.name, r)
    return r.route(prefix, fam), ex


def _policy(settings: str) -> Policy:
    """A policy accepting every route with these ``set`` keys."""
    return policies(f'[[policies]]\nname = "p"\ndefault = "reject"\n'
                    f'[[policies.rules]]\naction = "accept"\n{settings}\n')["p"]


# -- towards eBGP --------------------------------------------------------------------

def test_ebgp_prepends_sets_next_hop_self_drops_ibgp_attributes():
    a = attrs(65001, 3356, next_hop="192.0.2.1", med=50, local_pref=300,
              communities=(65001 << 16 | 1,), originator_id=9, cluster_list=(9,))
    got, _ex = export_one(I, a, peer("T", "198.51.100.2", 65002),
                          params("198.51.100.1", export_policy=ACCEPT))
    fields, next_hop = got
    assert fields["as_path"] == ((2, (LOCAL_AS, 65001, 3356)),)      # RFC 4271 5.1.2
    assert next_hop == nh("198.51.100.1")                            # 5.1.3
    assert "local_pref" not in fields                                # 5.1.5
    assert "med" not in fields                                       # 5.1.4
    assert "originator_id" not in fields and "cluster_list" not in fields  # RFC 4456
    assert fields["communities"] == (65001 << 16 | 1,)


def test_ebgp_prepends_the_sessions_local_as():
    target = peer("T", "198.51.100.2", 65002, local_asn=65100)
    got, _ex = export_one(E, attrs(65001, next_hop="192.0.2.1"), target,
                          params("198.51.100.1", export_policy=ACCEPT))
    assert got[0]["as_path"] == ((2, (65100, 65001)),)


def test_ebgp_keep_next_hop_and_send_med():
    got, _ex = export_one(E, attrs(65001, next_hop="192.0.2.1", med=7),
                          peer("T", "198.51.100.2", 65002),
                          params("198.51.100.1", export_policy=ACCEPT, next_hop=NextHop.KEEP,
                                 send_med=True))
    assert got[1] == nh("192.0.2.1")
    assert got[0]["med"] == 7


def test_our_med_goes_to_ebgp():
    got, _ex = export_one(None, {"med": 30}, peer("T", "198.51.100.2", 65002),
                          params("198.51.100.1", export_policy=ACCEPT), local=True)
    fields, next_hop = got
    assert fields["med"] == 30 and fields["as_path"] == ((2, (LOCAL_AS,)),)
    assert next_hop == nh("198.51.100.1")


def test_policy_med_and_next_hop_are_kept_local_pref_never_leaves():
    pol = _policy('set.med = 5\nset.next_hop = "203.0.113.9"\nset.local_pref = 999')
    got, _ex = export_one(E, attrs(65001, next_hop="192.0.2.1", med=7),
                          peer("T", "198.51.100.2", 65002),
                          params("198.51.100.1", export_policy=pol))
    fields, next_hop = got
    assert fields["med"] == 5
    assert next_hop == nh("203.0.113.9")
    assert "local_pref" not in fields


def test_rfc8212_ebgp_without_policy_gets_nothing():
    got, ex = export_one(E, attrs(65001, next_hop="192.0.2.1"), peer("T", "198.51.100.2", 65002),
                         params("198.51.100.1"))
    assert got is None
    assert "RFC 8212" in ex.explain("T", V4, "10.1.0.0/24")


# -- towards iBGP --------------------------------------------------------------------

def test_ibgp_gets_local_pref_and_unchanged_next_hop():
    got, _ex = export_one(E, attrs(65001, next_hop="192.0.2.1", med=7),
                          peer("T", "10.0.0.7"), params())
    fields, next_hop = got
    assert fields["local_pref"] == 100                   # RFC 4271 5.1.5
    assert fields["med"] == 7                            # MED may go over iBGP (5.1.4)
    assert fields["as_path"] == ((2, (65001,)),)
    assert next_hop == nh("192.0.2.1")


def test_ibgp_keeps_a_local_pref_and_default_is_configurable():
    got, _ex = export_one(I, attrs(next_hop="10.0.0.1", local_pref=250),
                          peer("T", "10.0.0.7", rr_client=True), params())
    assert got[0]["local_pref"] == 250
    got, _ex = export_one(E, attrs(65001, next_hop="192.0.2.1"), peer("T", "10.0.0.7"),
                          params(), default_local_pref=80)
    assert got[0]["local_pref"] == 80


def test_ibgp_next_hop_self_and_originated_routes():
    got, _ex = export_one(I, attrs(next_hop="10.0.0.1"), peer("T", "10.0.0.7", rr_client=True),
                          params(next_hop=NextHop.SELF))
    assert got[1] == nh("10.255.0.1")
    got, _ex = export_one(None, {}, peer("T", "10.0.0.7"), params("10.0.0.254"), local=True)
    fields, next_hop = got
    assert next_hop == nh("10.0.0.254") and fields["local_pref"] == 100
    assert fields["as_path"] == ()


def test_ebgp_learned_reflection_attributes_are_stripped_towards_ibgp():
    a = attrs(65001, next_hop="192.0.2.1", originator_id=5, cluster_list=(5,))
    got, _ex = export_one(E, a, peer("T", "10.0.0.7"), params())
    assert "originator_id" not in got[0] and "cluster_list" not in got[0]


def test_no_next_hop_of_the_family_means_not_sent():
    got, ex = export_one(None, {}, peer("T", "2001:db8::7", bgp_id="10.0.0.7"),
                         params("2001:db8::1"), local=True)
    assert got is None
    assert "next hop" in ex.explain("T", V4, "10.1.0.0/24")


# -- IPv6 (RFC 4760) -------------------------------------------------------------------

def test_ipv6_next_hop_in_mp_reach_only():
    a = attrs(65001)
    got, _ex = export_one(E, a, peer("T", "2001:db8::2", 65002, bgp_id="10.0.0.8"),
                          params("2001:db8::1", families=(V6,), export_policy=ACCEPT),
                          prefix="2001:db8:1::/48", fam=V6, mp_next_hop="2001:db8:ff::1")
    fields, next_hop = got
    assert next_hop == nh("2001:db8::1")
    assert "next_hop" not in fields
    # Reflected to iBGP over an IPv4 session: the next hop is unchanged.
    got, _ex = export_one(I, attrs(), peer("T", "10.0.0.7", rr_client=True),
                          params(families=(V6,)), prefix="2001:db8:1::/48", fam=V6,
                          mp_next_hop="2001:db8:ff::1")
    assert got[1] == nh("2001:db8:ff::1")


def test_ipv6_next_hop_self_over_ipv4_session_is_mapped():
    got, _ex = export_one(None, {}, peer("T", "10.0.0.7"), params("10.0.0.254", families=(V6,)),
                          local=True, prefix="2001:db8:5::/48", fam=V6)
    assert got[1] == nh("::ffff:10.0.0.254")


# -- RFC 6793 ----------------------------------------------------------------------------

def test_four_octet_path_to_a_two_octet_peer():
    a = attrs(4200000001, 65001, next_hop="192.0.2.1")
    r = Receiver(four_octet=False)
    got, _ex = export_one(E, a, peer("T", "198.51.100.2", 65002),
                          params("198.51.100.1", four_octet=False, export_policy=ACCEPT),
                          receiver=r)
    assert got[0]["as_path"] == ((2, (LOCAL_AS, 4200000001, 65001)),)
    (fam, _k), (received, _nh) = next(iter(r.routes.items()))
    raw = received.raw                      # as the 2-octet peer got it
    assert AS_TRANS.to_bytes(2, "big") in raw and bytes([0xC0, 17]) in raw   # AS4_PATH


def test_our_four_octet_as_to_a_two_octet_peer():
    from rib import Rib
    from reflector import Exporter
    rib = Rib("10.255.0.1", 4200000000)
    ex = Exporter("10.255.0.1", 4200000000, rib=rib)
    originate(rib, "10.1.0.0/24")
    t = peer("T", "198.51.100.2", 65002, local_asn=4200000000)
    ex.peer_up(t, params("198.51.100.1", four_octet=False, export_policy=ACCEPT))
    r = Receiver(four_octet=False)
    drain(ex, "T", r)
    fields, _ = r.route("10.1.0.0/24")
    assert fields["as_path"] == ((2, (4200000000,)),)


# -- shared objects -----------------------------------------------------------------------

def test_prefixes_of_one_path_share_one_entry_and_block():
    rib, ex = stack()
    rib.peer_up(E)
    ex.peer_up(peer("T", "10.0.0.7"), params())
    rib.apply_update(E, announce([f"10.{i}.0.0/24" for i in range(50)],
                                 attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    entries = list(ex.group_of("T").out[V4].table.values())
    assert len({id(e) for e in entries}) == 1
    # and the same attributes from another batch give an equal block
    rib.apply_update(E, announce(["10.99.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    table = ex.group_of("T").out[V4].table
    assert table[b"\x18\x0a\x63\x00"].block == entries[0].block


# -- rewriting blocks in place ---------------------------------------------------------------

U32 = st.integers(0, 0xFFFFFFFF)
_paths = st.lists(st.tuples(st.sampled_from([1, 2]), st.lists(U32, min_size=1, max_size=300)
                            .map(tuple)), max_size=3).map(tuple)
_fields = st.fixed_dictionaries({"origin": st.integers(0, 2), "as_path": _paths}, optional={
    "next_hop": st.binary(min_size=4, max_size=4).filter(lambda b: 0 < b[0] < 224),
    "med": U32, "local_pref": U32,
    "communities": st.lists(U32, min_size=1, max_size=70).map(tuple),
    "originator_id": U32,
    "cluster_list": st.lists(U32, min_size=1, max_size=5).map(tuple),
    "large_communities": st.lists(st.tuples(U32, U32, U32), min_size=1, max_size=3).map(tuple),
})
_changes = st.fixed_dictionaries({}, optional={
    "as_path": st.one_of(st.builds(Prepend, U32), _paths),
    "next_hop": st.one_of(st.none(), st.binary(min_size=4, max_size=4)
                          .filter(lambda b: 0 < b[0] < 224)),
    "med": st.one_of(st.none(), U32), "local_pref": st.one_of(st.none(), U32),
    "originator_id": st.one_of(st.none(), U32),
    "cluster_list": st.one_of(st.none(), st.lists(U32, max_size=80).map(tuple)),
    "communities": st.one_of(st.none(), st.lists(U32, max_size=4).map(tuple)),
})


@settings(max_examples=300, deadline=None)
@given(_fields, _changes)
def test_rewrite_is_replace(fields, changes):
    a = make(**fields)
    want = a.replace(**resolve(a, changes))
    got = rewrite(a.raw, changes)
    assert got == want.raw
    assert decode_attributes(got)[0].fields() == want.fields()


@settings(max_examples=100, deadline=None)
@given(_fields, _changes)
def test_block_for_two_octet_sessions(fields, changes):
    a = make(**fields)
    assert block(a, changes, False) == a.replace(**resolve(a, changes)).wire(False)
    a2 = make(four_octet=False, **fields)
    assert block(a2, changes, True) == a2.replace(**resolve(a2, changes)).wire(True)


def test_rewrite_out_of_order_block_falls_back():
    a = make(origin=0, as_path=(), next_hop=bytes([1, 2, 3, 4]))
    swapped = a.raw[4:] + a.raw[:4]         # ORIGIN moved after the others
    assert rewrite(swapped, {"local_pref": 5}) is None
    a2, _r, _u = decode_attributes(swapped)
    assert decode_attributes(block(a2, {"local_pref": 5}, True))[0].local_pref == 5
