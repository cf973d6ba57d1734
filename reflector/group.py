"""Update groups: one Adj-RIB-Out and one stream of UPDATEs for many peers.

Sessions that would receive byte-identical UPDATEs (same ``params.group_key``:
protocol-rule inputs, export policy, encoding) form one ``UpdateGroup``.
The group does the export work once for all of them:

``apply(changes)``
    runs each changed prefix's best path (every path, with add-path)
    through the group's ``Pipeline`` and compares the result with the
    Adj-RIB-Out (``adjout``): an identical route is dropped there, a prefix
    that was never announced gets no withdrawal, and the prefix is marked
    pending with the entry it had at the last batch.

``seal()``
    encodes the pending prefixes as one *batch* (a ``Chunk``): withdrawals
    first, then announcements, prefixes with the same attribute block, next
    hop and source packed together in as few UPDATEs as fit the group's
    message size.  The batch goes to the queue of every member that keeps
    up (``outqueue.Member.offer``).  Batches are sealed lazily, when a member
    with nothing left to read asks for more, so a group whose peers are
    busy keeps collecting changes and sends each prefix's latest state once.

Member exceptions
    A route is never sent back to the peer it came from (``rules.sent_by``).
    Messages are grouped by the route's source and each source's runs are
    recorded, so the member that is the source skips them and still shares
    every other message with the group.  When a prefix's route in the group
    becomes a member's own route, that member alone needs a withdrawal of
    what it had; when the same announcement comes from another source, only
    the member whose own route it was needs it.  The batch carries such
    messages in ``personal``.

New members and refresh
    A member that joins gets a ``snapshot`` of the Adj-RIB-Out per family
    (shared by every member that joins or asks for a refresh before the
    next change), then End-of-RIB (RFC 4724 section 2), then the batches
    sealed after it.

Falling behind
    A member whose unread batches pass ``max_backlog`` bytes drops them and
    keeps only the generation of the first (``Member.watermark``).  When it
    has read everything else, ``resync`` re-walks the Adj-RIB-Out for the
    prefixes whose entries changed since that generation (tombstones give
    the withdrawals) and queues their current state for that member alone;
    then it receives batches again.  No End-of-RIB is sent again.  A
    prefix announced and withdrawn while the member was detached may get a
    withdrawal it never needed (receivers ignore those).
"""

from __future__ import annotations

from wire.update import end_of_rib as _end_of_rib

from .adjout import AdjRibOut, Entry
from .outqueue import Chunk, Item, Member

DEFAULT_MAX_BACKLOG = 16 * 1024 * 1024      # bytes of unread batches per member


def _personal(personal: dict, name: str, family, route, key) -> None:
    """Note a message for one member: withdraw ``key`` (``route`` None) or
    announce it with ``route`` = (block, next hop)."""
    by = personal.get(name)
    if by is None:
        by = personal[name] = {}
    keys = by.get((family, route))
    if keys is None:
        by[(family, route)] = [key]
    else:
        keys.append(key)


class UpdateGroup:
    """Peers that share their outgoing UPDATEs."""

    def __init__(self, number: int, key, target, pipeline, codec, families, add_path=(), *,
                 add_path_limit=None, candidates=None, max_backlog: int = DEFAULT_MAX_BACKLOG):
        self.number = number
        self.key = key
        self.target = target
        self.pipeline = pipeline
        self.codec = codec                  # encodes for every member (same options)
        self.families = tuple(sorted(tuple(f) for f in families))
        self.out = {f: AdjRibOut(f, f in add_path) for f in self.families}
        self.add_path_limit = add_path_limit
        self.candidates = candidates        # (family, key) -> paths, best first; or None
        self.max_backlog = max_backlog
        self.members: dict[str, Member] = {}
        self.gen = 1                        # the open generation: changes not sealed yet
        self.dirty = False
        self.batches = 0                    # batches sealed (for show and tests)
        self._snapshots: dict = {}          # family -> snapshot Chunk of the open generation
        self._tombstones: dict = {}         # source -> tombstone Entry of the open generation

    def __repr__(self) -> str:
        return f"<UpdateGroup {self.number}: {len(self.members)} members, gen {self.gen}>"

    # ------------------------------------------------------------------
    # Changes in

    def load(self, rib) -> None:
        """Fill the Adj-RIB-Out from the Loc-RIB (a new group)."""
        if rib is None:
            return
        open_gen, self.gen = self.gen, 0    # what every member gets in its snapshot
        for family, out in self.out.items():
            changes = [(family, r.key, (), r.paths) for r in rib.routes(family)]
            self.apply({family: changes})
            out.pending = {}
        self.gen = open_gen
        self._tombstones = {}
        self.dirty = False

    def apply(self, by_family: dict) -> bool:
        """Take the changes of one batch (``{family: [Change, ...]}``);
        True if the Adj-RIB-Out changed."""
        changed = False
        for family, changes in by_family.items():
            out = self.out.get(family)
            if out is None:
                continue
            if out.add_path:
                changed |= self._apply_add_path(out, changes)
            else:
                changed |= self._apply(out, changes)
        if changed:
            self.dirty = True
        return changed

    def _tombstone(self, source: str) -> Entry:
        t = self._tombstones.get(source)
        if t is None:
            t = self._tombstones[source] = Entry(None, b"", source, self.gen)
        return t

    def _apply(self, out: AdjRibOut, changes) -> bool:
        gen = self.gen
        family = out.family
        entry = self.pipeline.entry
        known = self.pipeline.paths.get
        table = out.table
        tget = table.get
        pending = out.pending
        by_source = out.by_source
        count = by_source.get
        live = 0
        changed = False
        for c in changes:
            k = c[1]
            new = c[3]
            if new:
                p = new[0]
                # The pipeline's answer for a path that no policy test on the
                # prefix can change, inlined: most prefixes end here.
                rec = known(p)
                if rec is not None and rec.result is True:
                    e = rec.entry
                    if e is not None and e[3] != gen:
                        e = entry(family, p, k, gen)
                else:
                    e = entry(family, p, k, gen)
            else:
                e = None
            cur = tget(k)
            if cur is None:
                if e is None:
                    continue            # never announced: nothing to withdraw
                pending[k] = None
            else:
                if e is None:
                    if cur[0] is None:
                        continue
                    e = self._tombstone(cur[2])
                elif cur is e or (cur[0] == e[0] and cur[1] == e[1] and cur[2] == e[2]):
                    continue            # announced just like this already
                if k not in pending:
                    pending[k] = cur
                if cur[0] is not None:  # (AdjRibOut.set, inlined)
                    live -= 1
                    by_source[cur[2]] -= 1
            table[k] = e
            if e[0] is not None:
                live += 1
                by_source[e[2]] = count(e[2], 0) + 1
            changed = True
        out.live += live
        return changed

    def _apply_add_path(self, out: AdjRibOut, changes) -> bool:
        """RFC 7911: every path the group may send, each under a path
        identifier of its own for the prefix (kept while the path lasts,
        ``AdjRibOut.paths``); a path no longer sent is withdrawn by its
        identifier alone."""
        gen = self.gen
        family = out.family
        entry = self.pipeline.entry
        limit = self.add_path_limit
        candidates = self.candidates
        table = out.table
        sent = out.paths
        changed = False
        for c in changes:
            k = c[1]
            paths = candidates(family, k) if candidates is not None else c[3]
            ids = dict(sent.get(k, ()))         # (source, received id) -> id we send
            want = []
            taken = set()
            for p in paths:
                e = entry(family, p, k, gen)
                if e is None:
                    continue
                ident = (p.source.name, p.path_id)
                want.append((ident, e))
                if limit is not None and len(want) >= limit:
                    break
            keep = {ident for ident, _e in want}
            for ident, pid in ids.items():
                if ident in keep:
                    taken.add(pid)
                else:
                    key = (pid, k)
                    cur = table[key]
                    out.set(key, self._tombstone(cur[2]), cur)
                    changed = True
            now = []
            for ident, e in want:
                pid = ids.get(ident)
                if pid is None:
                    pid = 1
                    while pid in taken:
                        pid += 1
                    taken.add(pid)
                now.append((ident, pid))
                key = (pid, k)
                cur = table.get(key)
                if cur is not None and cur[0] is not None and e.same_route(cur):
                    continue
                out.set(key, e, cur)
                changed = True
            if now:
                sent[k] = tuple(now)
            else:
                sent.pop(k, None)
        return changed

    # ------------------------------------------------------------------
    # Batches out

    def seal(self) -> Chunk | None:
        """Encode the pending changes as one batch and queue it for every
        member that keeps up."""
        if not self.dirty:
            return None
        gen = self.gen
        self.gen = gen + 1
        self.dirty = False
        self._tombstones = {}
        self._snapshots = {}
        self.batches += 1
        members = self.members
        chunk = Chunk(gen)
        announce = []
        personal: dict = {}
        count = 0
        for family, out in self.out.items():
            pending = out.pending
            if not pending:
                continue
            out.pending = {}
            table = out.table
            withdrawn: dict = {}
            by_source: dict = {}
            dead = []
            for k, old in pending.items():
                new = table[k]
                old_live = old is not None and old[0] is not None
                if new[0] is None:
                    dead.append(k)
                    if old_live:
                        wl = withdrawn.get(old[2])
                        if wl is None:
                            withdrawn[old[2]] = [k]
                        else:
                            wl.append(k)
                    continue
                if old_live:
                    same = old[0] == new[0] and old[1] == new[1]
                    if old[2] != new[2]:
                        if new[2] in members:
                            # The member's own route replaces another's: it
                            # alone must withdraw what it had.
                            _personal(personal, new[2], family, None, k)
                        if same:
                            # Another source, the very same announcement: only
                            # the member whose own route it was lacks it.
                            if old[2] in members:
                                _personal(personal, old[2], family, (new[0], new[1]), k)
                            continue
                    elif same:
                        continue        # changed and changed back
                buckets = by_source.get(new[2])
                if buckets is None:
                    buckets = by_source[new[2]] = {}
                bk = (new[0], new[1])
                keys = buckets.get(bk)
                if keys is None:
                    buckets[bk] = [k]
                else:
                    keys.append(k)
            if dead:
                out.tombs.append((gen, dead))
            for source, keys in withdrawn.items():
                chunk.add(self._encode(family, None, b"", (), keys), source)
                count += len(keys)
            announce.append((family, by_source))
        # Withdrawals first (RFC 4271 leaves the order to us; withdrawing
        # first never leaves a stale route behind a new one).
        for family, by_source in announce:
            for source, buckets in by_source.items():
                for (block, nh), keys in buckets.items():
                    chunk.add(self._encode(family, block, nh, keys, ()), source)
                    count += len(keys)
        for name, fams in personal.items():
            msgs = []
            for (family, route), keys in fams.items():
                if route is None:
                    msgs += self._encode(family, None, b"", (), keys)
                else:
                    msgs += self._encode(family, route[0], route[1], keys, ())
            chunk.personal[name] = msgs
        chunk.prefixes = count
        if chunk.messages or chunk.personal:
            limit = self.max_backlog
            for m in members.values():
                m.offer(chunk, limit)
        self._purge()
        return chunk

    def _purge(self) -> None:
        """Drop the tombstones no member can need any more."""
        gen = self.gen
        below = min((m.floor(gen) for m in self.members.values()), default=gen)
        for out in self.out.values():
            if out.tombs and out.tombs[0][0] < below:
                out.purge(below)

    def _encode(self, family, block, next_hop, keys, withdrawn) -> list:
        return self.codec.encode(block, keys, withdrawn, family, next_hop)

    # ------------------------------------------------------------------
    # Whole tables: new members, refresh, catching up

    def snapshot(self, family) -> Chunk:
        """Every route of the family as UPDATEs, grouped by source (so a
        member skips its own); shared until the next change."""
        self.seal()
        family = tuple(family)
        chunk = self._snapshots.get(family)
        if chunk is not None:
            return chunk
        chunk = Chunk(self.gen, batch=False)
        by_source: dict = {}
        count = 0
        for k, e in self.out[family].table.items():
            if e[0] is None:
                continue
            buckets = by_source.get(e[2])
            if buckets is None:
                buckets = by_source[e[2]] = {}
            bk = (e[0], e[1])
            keys = buckets.get(bk)
            if keys is None:
                buckets[bk] = [k]
            else:
                keys.append(k)
        for source, buckets in by_source.items():
            for (block, nh), keys in buckets.items():
                chunk.add(self._encode(family, block, nh, keys, ()), source)
                count += len(keys)
        chunk.prefixes = count
        self._snapshots[family] = chunk
        return chunk

    def join(self, member: Member, end_of_rib: bool = True) -> None:
        """A member's session is up: it gets the whole Adj-RIB-Out, then
        End-of-RIB, per family (RFC 4724 section 2; the exporter sends the
        End-of-RIB later while we recover from a restart)."""
        self.seal()                         # pending changes go to the others first
        self.members[member.name] = member
        for family in self.families:
            member.push(Item(self.snapshot(family), (), [_end_of_rib(*family)] if end_of_rib
                             else ()))

    def leave(self, name: str) -> Member | None:
        m = self.members.pop(name, None)
        if m is not None:
            self._purge()
        return m

    def resync(self, member: Member) -> None:
        """The member dropped its batches at ``member.watermark``: queue, for
        it alone, the current state of every prefix changed since."""
        self.seal()
        since = member.watermark
        name = member.name
        chunk = Chunk(self.gen, batch=False)
        withdrawals = []
        announcements = []
        for family, out in self.out.items():
            wd = []
            buckets: dict = {}
            for k, e in out.table.items():
                if e[3] < since:
                    continue
                if e[0] is None or e[2] == name:
                    wd.append(k)
                    continue
                bk = (e[0], e[1])
                keys = buckets.get(bk)
                if keys is None:
                    buckets[bk] = [k]
                else:
                    keys.append(k)
            withdrawals.append((family, wd))
            announcements.append((family, buckets))
        for family, wd in withdrawals:
            chunk.add(self._encode(family, None, b"", (), wd))
        for family, buckets in announcements:
            for (block, nh), keys in buckets.items():
                chunk.add(self._encode(family, block, nh, keys, ()))
        member.watermark = None
        member.push(Item(chunk))
        self._purge()

    def transfer_to(self, member: Member, other: "UpdateGroup") -> None:
        """Move a member to another group of the same encoding (its export
        policy or options changed): it gets the difference between what it
        has from this group and what the other group sends."""
        if member.detached:
            self.resync(member)
        self.seal()
        self.leave(member.name)
        other.seal()
        name = member.name
        chunk = Chunk(other.gen, batch=False)
        wd_all = []
        an_all = []
        for family, new in other.out.items():
            old = self.out.get(family)
            wd = []
            if old is not None:
                for k, e in old.table.items():
                    if e[0] is None or e[2] == name:
                        continue
                    n = new.table.get(k)
                    if n is None or n[0] is None or n[2] == name:
                        wd.append(k)
            buckets: dict = {}
            for k, n in new.table.items():
                if n[0] is None or n[2] == name:
                    continue
                e = old.table.get(k) if old is not None else None
                if e is not None and e[2] != name and e[0] == n[0] and e[1] == n[1]:
                    continue
                buckets.setdefault((n[0], n[1]), []).append(k)
            wd_all.append((family, wd))
            an_all.append((family, buckets))
        for family, wd in wd_all:
            chunk.add(other._encode(family, None, b"", (), wd))
        for family, buckets in an_all:
            for (block, nh), keys in buckets.items():
                chunk.add(other._encode(family, block, nh, keys, ()))
        other.members[name] = member
        member.push(Item(chunk))
