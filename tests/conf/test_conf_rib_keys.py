"""Top-level keys the RIB reads: ECMP width, local blocks, service ranges."""

import ipaddress

import pytest

from conf import ConfigError, loads

BASE = 'router_id = "10.0.0.1"\nasn = 64512\n'


def test_defaults():
    c = loads(BASE)
    assert (c.max_paths, c.local_blocks, c.service_ranges) == (1, (), ())


def test_values():
    c = loads(BASE + 'max_paths = 8\nlocal_blocks = ["10.245.0.64/26", "fd00:10:245::/122"]\n'
                     'service_ranges = ["10.96.0.0/12"]\n')
    assert c.max_paths == 8
    assert c.local_blocks == (ipaddress.ip_network("10.245.0.64/26"),
                              ipaddress.ip_network("fd00:10:245::/122"))
    assert c.service_ranges == (ipaddress.ip_network("10.96.0.0/12"),)


@pytest.mark.parametrize("text, path", [
    ("max_paths = 0", "max_paths"),
    ("max_paths = 65", "max_paths"),
    ('local_blocks = ["10.245.0.65/26"]', "local_blocks[0]"),
    ('service_ranges = ["10.96.0.0"]', "service_ranges[0]"),
    ('local_blocks = "10.245.0.64/26"', "local_blocks"),
])
def test_bad_values_name_the_key(text, path):
    with pytest.raises(ConfigError) as e:
        loads(BASE + text + "\n")
    assert any(line.split(": ")[1] == path or path in line for line in e.value.lines()), \
        e.value.lines()
