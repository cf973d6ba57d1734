"""Benchmarks: the codec alone (``python3 -m bench.codec``) and, as the
daemon grows, the daemon side by side with BIRD, FRR and GoBGP."""
