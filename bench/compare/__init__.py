"""Side-by-side benchmark: our daemon, BIRD 2, BIRD 1.6, FRR and GoBGP as
real processes, each in a private network namespace, on the same
pre-encoded feed.

    python3 -m bench.compare [--case transit|calico-rr|fan-out|all]
        [--daemons null,bgpd,bird2,bird1.6,frr,gobgp] [--runs 3]
        [--runs-of gobgp=1,frr=1] [--scale 1.0] [--timeout 300]

Method
------
For every run of every daemon (runs interleaved across daemons), a fresh
pair of namespaces is built: the daemon's (10.0.0.1/16) and the
simulator's (every simulated peer's address on one veth end).  The daemon
is started with the same job for all (``references``: AS 64512, every
peer configured, passive, accept and export everything, route-reflector
clients in the iBGP cases, no kernel routes, quiet logs).

The simulated peers are pure-Python worker processes (``worker``), many
sessions per process on one epoll loop, each session bound to its own
address so that the daemon sees distinct neighbours.  Receivers connect
first; once all their sessions are Established the feeders connect; then
the coordinator reads the daemon's CPU time and says "go".  Feeders
(``feeder``) write a stream encoded once before the run (``cases``: the
generated full table of ``bench.feed``, or each client's /26 blocks) in
1 MiB writes.  Receivers (``receiver``) read only the UPDATE length fields
and walk the NLRI, marking each prefix in a per-session bitmap over the
numbered expected set: a session is complete when every expected prefix is
held (withdrawals unmark), so the set, not just a count, is verified.

Per run (``run``): wall seconds from the feeder's first byte to the last
receiver holding its whole set; the daemon's CPU seconds over that span
(/proc/PID/stat utime+stime, every thread; for FRR the bgpd process, run
without zebra); its peak RSS (VmHWM).  Printed (``report``): medians of
the runs and ratios to BIRD 2's medians from the same invocation.  A run
that does not finish within ``--timeout`` is reported as a timeout with
how much the receivers held.

The harness is shown not to be the bottleneck three ways, all printed:
the feeder's and the receivers' own CPU seconds; the feeder's send time
(how long until the daemon had taken the whole stream); the busiest
harness process's CPU as a share of the wall time; and the ``null``
daemon, a relay that copies every UPDATE to every other session without
any routing (``null``), whose wall time is the harness's ceiling.

The machine is shared and noisy: quote medians and same-invocation ratios,
not lone absolute times.  Needs root (namespaces).
"""
