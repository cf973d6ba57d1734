"""bgpd: the daemon, the only package that does I/O.

It drives the sans-IO session machines of ``fsm`` over trio sockets, feeds
the RIB, exports through ``reflector``, programs the kernel through
``kernel_sync``, and serves the control socket, the CLI and metrics.

How it works
------------
One trio nursery (``daemon``) holds everything: the listeners and their
accept loop, one task per peer (``peer``: reader, writer and timer tasks
around the session machine), the control socket (``control``, JSON lines;
``ctl`` is the ``bgpctl`` client), the BIRD-compatible socket
(``birdsock``), the Prometheus endpoint (``metrics``), the systemd
notifications and watchdog (``systemd``) and the kernel FIB (``fib``).

A route's path: a peer's reader hands the bytes to its session, the
session's UPDATEs go into the RIB (``routing``), and after each read one
``flush`` decides the touched prefixes and hands the Loc-RIB changes to the
export layer (whose update groups wake the writers of the peers concerned)
and to the kernel FIB (which writes them through netlink, in a worker
thread when the batch is large).

A new configuration (SIGHUP, ``bgpctl configure``) is planned by
``reload`` (a table per key: what a change means) and carried out by
``reconfigure``.  ``demo`` is the lab of ``bgpd demo``; ``decode`` the
``bgpd decode`` tool; ``cli`` the command line.

RFCs served here: 4271 (sessions, timers), 4724 (graceful restart, both
sides), 2918/7313 (route refresh), 4486/9003 (Cease subcodes and shutdown
communication), 8538 (hard reset), 2385 (TCP MD5), 5082 (GTSM).
"""
