"""OPEN validation (RFC 4271 6.2 and updates) and capability negotiation.

``BAD_OPENS``: each unacceptable OPEN with the NOTIFICATION (code, subcode,
data) it must draw, checked both by ``check_open`` and on the wire through
a session in OpenSent.  ``GOOD_OPENS``: OPENs that look odd but are fine.
``NEGOTIATIONS``: capability combinations and the ``Negotiated`` fields
they must give.
"""

from __future__ import annotations

import struct

import pytest

from fsm import NotificationSent, State, check_open, local_open, negotiate
from fsm.negotiate import keepalive_for
from fsm_testlib import (LOCAL_AS, LOCAL_ID, PEER_AS, PEER_ID, config, drive, msg,
                         notifications_in, of, parse, peer_open)
from wire import Open, WireError
from wire import capabilities as caps
from wire.constants import CapabilityCode, Role

MP4 = caps.Multiprotocol(1, 1)
MP6 = caps.Multiprotocol(2, 1)
RR = caps.RouteRefresh()
AS4 = caps.FourOctetAS


def cap_bytes(*capabilities) -> bytes:
    return b"".join(caps.encode_capability(c) for c in capabilities)


BAD_OPENS = {
    "version-3": (config(), Open(3, PEER_AS, 90, PEER_ID, ()), 1, b"\x00\x04"),
    "wrong-peer-as-4octet": (config(), peer_open(asn=65003), 2, (65003).to_bytes(4, "big")),
    "wrong-peer-as-2octet": (config(), peer_open(asn=65003, capabilities=(MP4,)), 2,
                             (65003).to_bytes(2, "big")),
    "as-trans-without-capability": (config(peer_as=None),
                                    peer_open(capabilities=(MP4,), my_as=23456), 2,
                                    b"\x5b\xa0"),
    "as-zero": (config(peer_as=None), peer_open(asn=0), 2, b"\x00\x00\x00\x00"),
    "4octet-as-expected-but-2octet-peer": (config(peer_as=4200000000),
                                           peer_open(capabilities=(MP4,), my_as=23456), 2,
                                           b"\x5b\xa0"),
    "hold-time-1": (config(), peer_open(hold_time=1), 6, b""),
    "hold-time-2": (config(), peer_open(hold_time=2), 6, b""),
    "hold-time-below-minimum": (config(min_hold_time=9), peer_open(hold_time=6), 6, b""),
    "bgp-id-zero": (config(), peer_open(bgp_id=0), 3, b""),
    "ibgp-same-bgp-id": (config(peer_as=LOCAL_AS), peer_open(asn=LOCAL_AS, bgp_id=LOCAL_ID),
                         3, b""),
    "required-route-refresh-missing": (
        config(required_capabilities=(CapabilityCode.ROUTE_REFRESH,)),
        peer_open(capabilities=(MP4, AS4(PEER_AS))), 7, b"\x02\x00"),
    "required-ipv6-missing": (
        config(families=((1, 1), (2, 1)), required_capabilities=(MP6,)),
        peer_open(), 7, cap_bytes(MP6)),
    "required-4octet-missing": (
        config(required_capabilities=(CapabilityCode.FOUR_OCTET_AS,)),
        peer_open(capabilities=(MP4,)), 7, cap_bytes(AS4(LOCAL_AS))),
    "required-two-missing": (
        config(required_capabilities=(CapabilityCode.ROUTE_REFRESH,
                                      CapabilityCode.EXTENDED_MESSAGE)),
        peer_open(capabilities=(MP4, AS4(PEER_AS))), 7, b"\x02\x00\x06\x00"),
    "required-unknown-code-missing": (
        config(required_capabilities=(99,)), peer_open(), 7, b"\x63\x00"),
    "no-family-in-common": (config(families=((2, 1),)), peer_open(), 7, cap_bytes(MP6)),
    "role-provider-provider": (config(role=Role.PROVIDER),
                               peer_open(extra=(caps.BgpRole(Role.PROVIDER),)), 11, b""),
    "role-peer-customer": (config(role=Role.PEER),
                           peer_open(extra=(caps.BgpRole(Role.CUSTOMER),)), 11, b""),
    "role-rs-rs": (config(role=Role.RS), peer_open(extra=(caps.BgpRole(Role.RS),)), 11, b""),
    "role-missing-strict": (config(role=Role.CUSTOMER, strict_role=True), peer_open(), 11, b""),
    "role-two-values": (config(role=Role.CUSTOMER),
                        peer_open(extra=(caps.BgpRole(Role.PROVIDER), caps.BgpRole(Role.PEER))),
                        11, b""),
}


@pytest.mark.parametrize("name", BAD_OPENS)
def test_bad_open_is_refused(name):
    cfg, theirs, subcode, data = BAD_OPENS[name]
    with pytest.raises(WireError) as info:
        check_open(cfg, local_open(cfg), theirs)
    e = info.value
    assert (e.code, e.subcode, e.data) == (2, subcode, data)


@pytest.mark.parametrize("name", BAD_OPENS)
def test_bad_open_on_the_wire(name):
    """The same OPEN received in OpenSent: the NOTIFICATION goes out, then Idle."""
    cfg, theirs, subcode, data = BAD_OPENS[name]
    d = drive(State.OPENSENT, cfg)
    d.out()
    events = d.session.receive_data(d.now, d.conn, msg(theirs))
    assert d.session.state == State.IDLE
    (n,) = [e.notification for e in of(events, NotificationSent)]
    assert (n.code, n.subcode, n.data) == (2, subcode, data)
    close = [e for e in events if e.__class__.__name__ == "CloseConnection"][0]
    assert notifications_in(close.data) == [(2, subcode)]
    assert parse(close.data)[-1][1][2:] == data
    assert d.session.last_sent.notification == n


GOOD_OPENS = {
    "4octet-peer": (config(peer_as=4200000000), peer_open(asn=4200000000)),
    "any-peer-as": (config(peer_as=None), peer_open(asn=64512)),
    "2octet-peer": (config(), peer_open(capabilities=(MP4,))),
    "hold-time-0": (config(), peer_open(hold_time=0)),
    "hold-time-3": (config(), peer_open(hold_time=3)),
    "ebgp-same-bgp-id": (config(), peer_open(bgp_id=LOCAL_ID)),
    "no-mp-capability-means-ipv4": (config(), peer_open(capabilities=(AS4(PEER_AS),))),
    "no-capabilities-at-all": (config(), Open(4, PEER_AS, 90, PEER_ID, ())),
    "required-present": (config(required_capabilities=(CapabilityCode.ROUTE_REFRESH, MP4)),
                         peer_open()),
    "role-provider-customer": (config(role=Role.PROVIDER),
                               peer_open(extra=(caps.BgpRole(Role.CUSTOMER),))),
    "role-rs-client": (config(role=Role.RS_CLIENT), peer_open(extra=(caps.BgpRole(Role.RS),))),
    "role-peer-peer": (config(role=Role.PEER), peer_open(extra=(caps.BgpRole(Role.PEER),))),
    "role-missing-not-strict": (config(role=Role.CUSTOMER), peer_open()),
    "role-repeated-same": (config(role=Role.CUSTOMER),
                           peer_open(extra=(caps.BgpRole(Role.PROVIDER),) * 2)),
    "role-not-configured": (config(), peer_open(extra=(caps.BgpRole(Role.RS),))),
    "unknown-capability": (config(), peer_open(extra=(caps.UnknownCapability(200, b"x"),))),
}


@pytest.mark.parametrize("name", GOOD_OPENS)
def test_good_open_is_accepted(name):
    cfg, theirs = GOOD_OPENS[name]
    check_open(cfg, local_open(cfg), theirs)
    d = drive(State.OPENCONFIRM, cfg, opn=theirs)
    assert d.session.state == State.OPENCONFIRM


def test_open_rejected_by_the_codec_carries_its_notification():
    """Hold time 1 is refused by wire while decoding; the session sends it."""
    d = drive(State.OPENSENT)
    body = struct.pack("!BHHIB", 4, PEER_AS, 1, PEER_ID, 0)
    data = b"\xff" * 16 + struct.pack("!HB", 19 + len(body), 1) + body
    events = d.session.receive_data(d.now, d.conn, data)
    assert d.session.state == State.IDLE
    assert [(e.notification.code, e.notification.subcode)
            for e in of(events, NotificationSent)] == [(2, 6)]


def test_local_open():
    cfg = config(local_as=4200000000, families=((1, 1), (2, 1)), add_path=((1, 1, 3),),
                 graceful_restart=caps.GracefulRestart(120, False, True, ((1, 1, True),)),
                 role=Role.CUSTOMER, hostname="node-1", domain="cluster.local")
    o = local_open(cfg)
    assert o.my_as == 23456 and o.asn == 4200000000
    assert o.hold_time == 90 and o.bgp_id == LOCAL_ID
    assert o.capabilities_of(caps.Multiprotocol) == [MP4, MP6]
    assert o.capability(caps.AddPath) == caps.AddPath(((1, 1, 3),))
    assert o.capability(caps.BgpRole) == caps.BgpRole(Role.CUSTOMER)
    assert o.capability(caps.Fqdn) == caps.Fqdn("node-1", "cluster.local")
    assert o.capability(caps.GracefulRestart).notification
    assert o.capability(caps.RouteRefresh) and o.capability(caps.EnhancedRouteRefresh)
    assert o.capability(caps.ExtendedMessage)
    bare = local_open(config(four_octet_as=False, route_refresh=False, extended_message=False))
    assert bare.capabilities == (MP4,)


# ---------------------------------------------------------------------------
# Negotiation

GR_PEER = caps.GracefulRestart(180, True, True, ((1, 1, True), (2, 1, False), (25, 70, True)))
GR_OURS = caps.GracefulRestart(120, False, True, ())

NEGOTIATIONS = {
    "defaults": (config(), peer_open(), dict(
        families={(1, 1)}, four_octet_as=True, extended_message=True, route_refresh=True,
        enhanced_route_refresh=True, hold_time=90, keepalive_time=30, peer_as=PEER_AS,
        peer_id=PEER_ID, graceful_restart=None, add_path_rx=set(), add_path_tx=set(),
        max_message_size=65535, ibgp=False)),
    "no-mp-from-peer-means-ipv4-unicast": (
        config(families=((1, 1), (2, 1))), peer_open(capabilities=(AS4(PEER_AS),)),
        dict(families={(1, 1)}, route_refresh=False, extended_message=False,
             max_message_size=4096)),
    "families-intersect": (
        config(families=((1, 1), (2, 1))), peer_open(capabilities=(MP6, MP4, AS4(PEER_AS))),
        dict(families={(1, 1), (2, 1)})),
    "families-intersect-partly": (
        config(families=((1, 1), (2, 1))), peer_open(capabilities=(MP6,)),
        dict(families={(2, 1)}, four_octet_as=False)),
    "peer-without-4octet": (config(), peer_open(capabilities=(MP4,)),
                            dict(four_octet_as=False)),
    "we-without-4octet": (config(four_octet_as=False), peer_open(), dict(four_octet_as=False)),
    "add-path-we-send-peer-receives": (
        config(add_path=((1, 1, 2),)), peer_open(extra=(caps.AddPath(((1, 1, 1),)),)),
        dict(add_path_rx=set(), add_path_tx={(1, 1)})),
    "add-path-we-receive-peer-sends": (
        config(add_path=((1, 1, 1),)), peer_open(extra=(caps.AddPath(((1, 1, 2),)),)),
        dict(add_path_rx={(1, 1)}, add_path_tx=set())),
    "add-path-both-ways": (
        config(add_path=((1, 1, 3),)), peer_open(extra=(caps.AddPath(((1, 1, 3),)),)),
        dict(add_path_rx={(1, 1)}, add_path_tx={(1, 1)})),
    "add-path-both-receive-only": (
        config(add_path=((1, 1, 1),)), peer_open(extra=(caps.AddPath(((1, 1, 1),)),)),
        dict(add_path_rx=set(), add_path_tx=set())),
    "add-path-family-not-negotiated": (
        config(add_path=((2, 1, 3),)), peer_open(extra=(caps.AddPath(((2, 1, 3),)),)),
        dict(add_path_rx=set(), add_path_tx=set())),
    "add-path-peer-silent": (config(add_path=((1, 1, 3),)), peer_open(),
                             dict(add_path_rx=set(), add_path_tx=set())),
    "extended-message-one-side": (config(extended_message=False), peer_open(),
                                  dict(extended_message=False, max_message_size=4096)),
    "route-refresh-old-code": (
        config(), peer_open(capabilities=(MP4, caps.RouteRefreshOld(), AS4(PEER_AS))),
        dict(route_refresh=True, enhanced_route_refresh=False)),
    "route-refresh-we-disabled": (config(route_refresh=False), peer_open(),
                                  dict(route_refresh=False, enhanced_route_refresh=False)),
    "enhanced-route-refresh-peer-lacks": (
        config(), peer_open(capabilities=(MP4, RR, AS4(PEER_AS))),
        dict(route_refresh=True, enhanced_route_refresh=False)),
    "graceful-restart-peer-only": (config(), peer_open(extra=(GR_PEER,)),
                                   dict(graceful_restart=None)),
    "graceful-restart-both": (
        config(families=((1, 1), (2, 1)), graceful_restart=GR_OURS),
        peer_open(capabilities=(MP4, MP6, AS4(PEER_AS), GR_PEER)),
        dict(graceful_restart=dict(restart_time=180, restarting=True, notification=True,
                                   families=((1, 1, True), (2, 1, False))))),
    "graceful-restart-n-bit-one-side": (
        config(graceful_restart=caps.GracefulRestart(120, False, False, ())),
        peer_open(extra=(GR_PEER,)),
        dict(graceful_restart=dict(notification=False, families=((1, 1, True),)))),
    "long-lived-graceful-restart": (
        config(long_lived_graceful_restart=caps.LongLivedGracefulRestart(((1, 1, True, 60),))),
        peer_open(extra=(caps.LongLivedGracefulRestart(((1, 1, False, 3600),
                                                        (2, 1, True, 3600))),)),
        dict(long_lived_graceful_restart=((1, 1, False, 3600),))),
    "long-lived-graceful-restart-peer-only": (
        config(), peer_open(extra=(caps.LongLivedGracefulRestart(((1, 1, False, 3600),)),)),
        dict(long_lived_graceful_restart=())),
    "hold-time-smaller-of-both": (config(hold_time=180), peer_open(hold_time=30),
                                  dict(hold_time=30, keepalive_time=10)),
    "hold-time-ours-smaller": (config(hold_time=9), peer_open(hold_time=240),
                               dict(hold_time=9, keepalive_time=3)),
    "keepalive-configured": (config(keepalive_time=5), peer_open(),
                             dict(hold_time=90, keepalive_time=5)),
    "keepalive-configured-above-a-third": (config(keepalive_time=60), peer_open(),
                                           dict(hold_time=90, keepalive_time=30)),
    "hold-time-zero": (config(), peer_open(hold_time=0), dict(hold_time=0, keepalive_time=0)),
    "ibgp": (config(peer_as=LOCAL_AS), peer_open(asn=LOCAL_AS), dict(ibgp=True)),
    "4octet-peer-as": (config(peer_as=4200000000), peer_open(asn=4200000000),
                       dict(peer_as=4200000000)),
    "hostname-and-role": (
        config(role=Role.CUSTOMER),
        peer_open(extra=(caps.Fqdn("router-1", "example.net"), caps.BgpRole(Role.PROVIDER))),
        dict(hostname="router-1", domain="example.net", role=Role.PROVIDER)),
    "extended-next-hop-both": (
        config(extended_next_hop=((1, 1, 2),)),
        peer_open(extra=(caps.ExtendedNextHop(((1, 1, 2), (1, 2, 2))),)),
        dict(extended_next_hop={(1, 1, 2)})),
}


@pytest.mark.parametrize("name", NEGOTIATIONS)
def test_negotiation(name):
    cfg, theirs, expected = NEGOTIATIONS[name]
    check_open(cfg, local_open(cfg), theirs)
    neg = negotiate(cfg, local_open(cfg), theirs)
    for field, want in expected.items():
        got = getattr(neg, field)
        if isinstance(want, dict):
            for sub, sub_want in want.items():
                assert getattr(got, sub) == sub_want, (field, sub)
        elif isinstance(want, set):
            assert set(got) == want, field
        else:
            assert got == want, field


def test_negotiated_is_frozen_and_reaches_the_codec():
    cfg = config(families=((1, 1), (2, 1)), add_path=((1, 1, 3),))
    theirs = peer_open(capabilities=(MP4, MP6, AS4(PEER_AS), caps.ExtendedMessage(),
                                     caps.AddPath(((1, 1, 1),))))
    d = drive(State.ESTABLISHED, cfg, opn=theirs)
    s = d.session
    neg = s.negotiated
    with pytest.raises(AttributeError):
        neg.hold_time = 3
    assert s.codec.four_octet and s.codec.max_size == 65535
    assert s.codec.add_path_tx == {(1, 1)} and s.codec.add_path_rx == frozenset()
    assert s.primary.framer.max_size == 65535
    assert s.families == {(1, 1), (2, 1)}


def test_graceful_restart_forwarding_lookup():
    cfg = config(graceful_restart=GR_OURS, families=((1, 1), (2, 1)))
    neg = negotiate(cfg, local_open(cfg), peer_open(capabilities=(MP4, MP6, GR_PEER)))
    assert neg.graceful_restart.forwarding(1, 1) is True
    assert neg.graceful_restart.forwarding(2, 1) is False
    assert neg.graceful_restart.forwarding(25, 70) is None


@pytest.mark.parametrize("hold,configured,want", [
    (0, None, 0), (0, 10, 0), (3, None, 1), (90, None, 30), (90, 10, 10), (90, 45, 30),
    (4, None, 1), (65535, None, 21845),
])
def test_keepalive_for(hold, configured, want):
    assert keepalive_for(hold, configured) == want


def test_config_errors_name_the_key():
    for kw, key in [(dict(hold_time=2), "hold_time"), (dict(local_id=0), "local_id"),
                    (dict(families=()), "families"), (dict(add_path=((1, 1, 4),)), "add_path"),
                    (dict(strict_role=True), "strict_role"), (dict(role=9), "role"),
                    (dict(local_as=70000, four_octet_as=False), "local_as"),
                    (dict(idle_hold_time=10, idle_hold_max=5), "idle_hold_max")]:
        with pytest.raises(ValueError, match=f"SessionConfig.{key}"):
            config(**kw)

