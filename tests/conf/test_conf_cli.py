"""``bgpd check --config FILE``: exit status and what it prints."""

import pathlib

import conf
from bgpd.cli import main

MINIMAL = pathlib.Path(conf.__file__).parent / "examples" / "minimal.toml"


def test_valid_file(capsys):
    assert main(["check", "--config", str(MINIMAL)]) == 0
    out, err = capsys.readouterr()
    assert out == ("configuration OK: 3 peers, 0 dynamic neighbor ranges, 1 originated "
                   "prefix; router id 192.168.16.10, AS 64512\n")
    assert err == ""


def test_each_problem_on_its_own_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('router_id = "10.0.0.256"\nasn = 64512\n'
                    '[[peers]]\naddress = "10.0.0.2"\nasn = 70000000000\npasword = "x"\n')
    assert main(["check", "--config", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}: router_id: '10.0.0.256' is not an IPv4 address",
        f"{path}: peers[0].asn: 70000000000 is not a 4-octet AS number",
        f"{path}: peers[0]: unknown key 'pasword' (did you mean 'password'?)",
    ]


def test_missing_file(tmp_path, capsys):
    path = tmp_path / "absent.toml"
    assert main(["check", "-c", str(path)]) == 1
    assert capsys.readouterr().err == f"{path}: cannot read the file: No such file or directory\n"


def test_syntax_error(tmp_path, capsys):
    path = tmp_path / "syntax.toml"
    path.write_text("router_id = [\n")
    assert main(["check", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: not valid TOML: ") and err.count("\n") == 1
