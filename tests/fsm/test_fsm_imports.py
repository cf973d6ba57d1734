"""fsm/ is sans-IO: it imports only the standard library and wire/, and
nothing that does I/O, reads a clock or keeps random state (DESIGN.md,
section 2)."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import fsm

PACKAGE = pathlib.Path(fsm.__file__).parent
FORBIDDEN = {"trio", "socket", "asyncio", "selectors", "select", "threading", "time",
             "random", "bgpd", "rib", "reflector", "kernel_sync", "conf"}


def imported_modules(path: pathlib.Path) -> set:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_imports_are_stdlib_and_wire_only():
    for path in sorted(PACKAGE.glob("*.py")):
        for name in imported_modules(path):
            assert name not in FORBIDDEN, (path.name, name)
            assert name == "wire" or name in sys.stdlib_module_names, (path.name, name)


def test_every_module_says_what_it_does():
    for path in sorted(PACKAGE.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and len(doc) > 40, path.name


def test_importing_fsm_loads_no_io_module():
    code = ("import sys, fsm; bad = {'trio', 'socket', 'asyncio', 'selectors'} "
            "& set(sys.modules); assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent, timeout=60)
