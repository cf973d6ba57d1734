"""The import rules of DESIGN.md section 2, checked on the source.

wire/ uses the standard library only; the pure packages never import trio,
sockets or the daemon; nothing imports bgpd/.  Checked by parsing every
module's imports (including ones inside functions), so a rule broken
anywhere fails here.
"""

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = {"wire", "fsm", "rib", "reflector", "kernel_sync", "conf", "bgpd"}

# package -> project packages it may import
ALLOWED = {
    "wire": set(),
    "fsm": {"wire"},
    "rib": {"wire"},
    "reflector": {"rib", "wire"},
    "kernel_sync": {"rib", "wire"},
    "conf": {"wire"},
    "bgpd": PROJECT - {"bgpd"},
}
# third-party or I/O modules a pure package must not touch
IO_MODULES = {"trio", "socket", "asyncio", "selectors", "prometheus_client", "bgpd"}
THIRD_PARTY_OK = {
    "wire": set(),
    "fsm": set(),
    "rib": set(),
    "reflector": set(),
    "kernel_sync": {"pyroute2"},   # netlink adapter: the kernel, through its own socket type
    "conf": {"netaddr"},
}


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def _modules(pkg):
    return sorted((ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("pkg", sorted(ALLOWED))
def test_project_imports_follow_the_arrows(pkg):
    bad = []
    for path in _modules(pkg):
        for name in _imports(path):
            if name in PROJECT and name != pkg and name not in ALLOWED[pkg]:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, bad


@pytest.mark.parametrize("pkg", sorted(set(ALLOWED) - {"bgpd"}))
def test_pure_packages_do_no_io(pkg):
    stdlib = set(sys.stdlib_module_names)
    bad = []
    for path in _modules(pkg):
        for name in _imports(path):
            if name in IO_MODULES:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
            elif name not in stdlib and name not in PROJECT and name not in THIRD_PARTY_OK[pkg]:
                bad.append(f"{path.relative_to(ROOT)} imports third-party {name}")
    assert not bad, bad


def test_every_package_says_how_it_works():
    for pkg in ALLOWED:
        if len(_modules(pkg)) < 2:
            continue        # not written yet: nothing to describe
        doc = ast.get_docstring(ast.parse((ROOT / pkg / "__init__.py").read_text()))
        assert doc and len(doc) > 80, f"{pkg}/__init__.py needs a docstring saying how it works"
