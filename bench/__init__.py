"""Benchmarks, each runnable as a module and printing medians of several runs:

- ``python3 -m bench.codec``: decode and re-encode a 1M-prefix feed;
- ``python3 -m bench.rib_ingest``: a full table into Adj-RIB-In + Loc-RIB,
  CPU and resident memory per prefix, then a second and third peer;
- ``python3 -m bench.export``: the export layer (transit to one eBGP peer,
  a route reflector with 1,000 clients, fan-out to 20 clients);
- ``python3 -m bench.sessions --find``: sessions one daemon holds with
  3-second keepalives under 10% of a core;
- ``python3 -m bench.fib``: kernel routes installed/replaced/deleted per
  second beside ``ip -batch`` and BIRD 2 (root; in its own namespace).

The generated feed (``bench.feed``) is built with ``struct`` alone, so the
codec is measured against bytes it did not produce.
"""
