"""Flow control: peers read at their own pace, whole messages at a time; a
slow peer never holds back the others and never holds more than the bound;
when it catches up it gets exactly the current table."""

from __future__ import annotations

from reflector_testlib import (V4, Receiver, announce, attrs, drain, params, peer, stack, step,
                               withdraw)
from wire.messages import RouteRefresh

E = peer("E", "192.0.2.1", 65001)
FAST = peer("F", "10.0.0.1", rr_client=True)
SLOW = peer("S", "10.0.0.2", rr_client=True)


def prefixes(n, base=10):
    return [f"{base}.{i // 256}.{i % 256}.0/24" for i in range(n)]


def two_readers(max_backlog=4000):
    rib, ex = stack(max_backlog=max_backlog)
    rib.peer_up(E)
    recv = {}
    for p in (FAST, SLOW):
        rib.peer_up(p)
        ex.peer_up(p, params())
        recv[p.name] = Receiver()
        drain(ex, p.name, recv[p.name])
    return rib, ex, recv


def test_whole_messages_up_to_max_bytes():
    rib, ex, recv = two_readers(max_backlog=10**9)
    # One attribute set per prefix: one message each.
    for i, p in enumerate(prefixes(40)):
        rib.apply_update(E, announce([p], attrs(65001, next_hop="192.0.2.1", med=i)))
    step(rib, ex)
    sizes = []
    while True:
        msgs = ex.next_messages("F", 250)
        if not msgs:
            break
        total = sum(len(m) for m in msgs)
        assert total <= 250 or len(msgs) == 1
        sizes.append(len(msgs))
        recv["F"].feed(msgs)
    assert len(sizes) > 5 and len(recv["F"].prefixes()) == 40
    # A room smaller than one message still moves: one message per call.
    msgs = drain(ex, "S", recv["S"], max_bytes=1)
    assert len(msgs) == 40 and len(recv["S"].prefixes()) == 40


def test_slow_peer_falls_back_and_catches_up():
    rib, ex, recv = two_readers(max_backlog=3000)
    fast, slow = recv["F"], recv["S"]
    plist = prefixes(300)
    # 30 batches; F reads after each, S never does.
    for b in range(30):
        batch = plist[b * 10:(b + 1) * 10]
        rib.apply_update(E, announce(batch, attrs(65001, next_hop="192.0.2.1", med=b)))
        if b % 3 == 2:
            rib.apply_update(E, withdraw(plist[(b - 2) * 10:(b - 2) * 10 + 3]))
        step(rib, ex)
        drain(ex, "F", fast)
        state = ex.backlog("S")
        assert state["unread_bytes"] <= 3000                 # the bound holds
    group = ex.group_of("S")
    slow_member = group.members["S"]
    assert slow_member.detached and not any(i.batch for i in slow_member.queue)
    assert ex.backlog("S")["overflows"] >= 1
    # F was never held back: it has everything already.
    assert len(fast.prefixes()) == 300 - 30
    # S catches up from the Adj-RIB-Out: the same table, End-of-RIB only once.
    drain(ex, "S", slow, max_bytes=500)
    assert slow.state() == fast.state()
    assert slow.end_of_rib == [V4]
    assert not slow_member.detached
    # Later changes reach S through the shared batches again.
    rib.apply_update(E, announce(["11.0.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    a = drain(ex, "F", fast)
    b = drain(ex, "S", slow)
    assert a and all(x is y for x, y in zip(a, b))
    assert slow.state() == fast.state()


def test_slow_peer_mid_batch_and_withdrawn_while_behind():
    rib, ex, recv = two_readers(max_backlog=800)
    fast, slow = recv["F"], recv["S"]
    plist = prefixes(60)
    for i, p in enumerate(plist):
        rib.apply_update(E, announce([p], attrs(65001, next_hop="192.0.2.1", med=i)))
    step(rib, ex)
    drain(ex, "F", fast)
    ex.next_messages("S", 200)              # S reads a little of the first batch
    for p in plist[:30]:
        rib.apply_update(E, withdraw([p]))
        step(rib, ex)
        drain(ex, "F", fast)
    assert ex.group_of("S").members["S"].detached
    drain(ex, "S", slow)
    assert slow.prefixes() == fast.prefixes() and len(fast.prefixes()) == 30


def test_tombstones_go_once_nobody_needs_them():
    rib, ex, recv = two_readers(max_backlog=10**9)
    rib.apply_update(E, announce(prefixes(20), attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    for r in ("F", "S"):
        drain(ex, r, recv[r])
    rib.apply_update(E, withdraw(prefixes(20)))
    step(rib, ex)
    out = ex.group_of("F").out[V4]
    assert len(out.table) == 20 and out.live == 0           # tombstones, until read
    drain(ex, "F", recv["F"])
    assert len(out.table) == 20                              # S has not read them yet
    drain(ex, "S", recv["S"])
    rib.apply_update(E, announce(["11.0.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    drain(ex, "F", recv["F"])
    assert len(out.table) == 1


def test_slow_peer_keeps_its_snapshot_and_refresh():
    """What a member must get whole (the first table, a refresh) is not
    dropped with the batches; only the batches are."""
    rib, ex = stack(max_backlog=500)
    rib.peer_up(E)
    rib.apply_update(E, announce(prefixes(50), attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    for p in (FAST, SLOW):
        rib.peer_up(p)
        ex.peer_up(p, params())
    ex.refresh("S", V4, enhanced=True)
    fast, slow = Receiver(), Receiver()
    drain(ex, "F", fast)
    for i in range(20):
        rib.apply_update(E, announce([f"12.0.{i}.0/24"], attrs(65001, next_hop="192.0.2.1",
                                                               med=i)))
        step(rib, ex)
        drain(ex, "F", fast)
    assert ex.group_of("S").members["S"].detached
    drain(ex, "S", slow)
    assert slow.state() == fast.state() and slow.end_of_rib == [V4]
    assert [m.subtype for m in slow.markers] == [1, 2]
    assert all(isinstance(m, RouteRefresh) for m in slow.markers)


def test_many_members_memory_is_shared():
    """Batches are held once however many members have them queued."""
    rib, ex = stack()
    rib.peer_up(E)
    members = [peer(f"M{i}", f"10.1.{i // 250}.{i % 250 + 1}", rr_client=True) for i in range(200)]
    for m in members:
        ex.peer_up(m, params())
        drain(ex, m.name)
    rib.apply_update(E, announce(prefixes(100), attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    ex.next_messages("M0", 1)               # seals one batch for all
    group = ex.group_of("M0")
    chunks = {id(item.chunk) for m in group.members.values() for item in m.queue}
    assert len(chunks) == 1


def test_fall_behind_in_the_middle_of_withdrawals():
    """A member that read part of a batch's withdrawals and then falls
    behind still gets the rest: their tombstones are kept for it."""
    rib, ex, recv = two_readers(max_backlog=10**9)
    fast, slow = recv["F"], recv["S"]
    many = prefixes(2000)
    rib.apply_update(E, announce(many, attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    drain(ex, "F", fast)
    drain(ex, "S", slow)
    rib.apply_update(E, withdraw(many))
    step(rib, ex)
    drain(ex, "F", fast)                     # seals the withdrawals
    group = ex.group_of("S")
    size = group.members["S"].queue[0].chunk.size
    assert size > 4096                       # several messages
    slow.feed(ex.next_messages("S", 1))      # one message of them
    group.max_backlog = size + 100
    for i in range(2):                       # two small batches: the second overflows
        rib.apply_update(E, announce([f"11.0.{i}.0/24"], attrs(65001, next_hop="192.0.2.1")))
        step(rib, ex)
        drain(ex, "F", fast)
    assert group.members["S"].detached
    drain(ex, "S", slow)
    assert slow.state() == fast.state()
