"""bgpd: the daemon, the only package that does I/O.

It drives the sans-IO session machines of ``fsm`` over trio sockets, feeds
the RIB, exports through ``reflector``, programs the kernel through
``kernel_sync``, and serves the control socket, the CLI and metrics.
Today it holds the command line and the ``decode`` tool.
"""
