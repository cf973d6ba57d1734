"""Interoperability tests against the reference daemons (BIRD 1.6 and 2,
FRR, GoBGP, ExaBGP) in private network namespaces.

- ``lab``: namespaces, veth links, processes, teardown (``Lab``);
- ``daemons``: launchers and configuration writers for each daemon;
- ``peer``: a small blocking BGP test peer built on ``wire``;
- ``compare``: our codec, Wireshark and ExaBGP reduced to comparable views;
- ``scenario``: what the capture test makes each daemon send;
- ``capture_file`` and ``captures/``: the recorded sessions.

Tests that need root and namespaces are marked ``lab``.
"""
