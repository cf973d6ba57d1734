"""``python3 -m bgpd.demo [OPTIONS]`` is ``bgpd demo [OPTIONS]``."""

import sys

from bgpd.cli import main

sys.exit(main(["demo", *sys.argv[1:]]))
