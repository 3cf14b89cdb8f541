"""The command line on bad input: one line on stderr naming the thing, exit status 2, no
traceback; a candidate that raises fails its network (exit status 1) instead of the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import (
    DOUBLED_CANDIDATE,
    RunCli,
    assert_one_error_line,
    builtin_names,
    seed_path,
    wide_3_4_2_toml,
)

LINEAR = str(seed_path("linear-2-2-1"))


def _candidate(tmp_path: Path, body: str) -> str:
    """A candidate file holding ``body``, as ``path/to/file.py:grads``."""
    path = tmp_path / "candidate.py"
    path.write_text(body)
    return f"{path}:grads"


def test_candidate_module_that_raises_while_loading_is_a_one_line_error(
    tmp_path: Path, run_cli: RunCli
) -> None:
    candidate = _candidate(tmp_path, "undefined_name\ndef grads(s, p, x, t):\n    return p\n")
    status, out, err = run_cli(["verify", LINEAR, "--examples", "0", "--candidate", candidate])
    assert status == 2 and out == ""
    assert_one_error_line(err, "candidate.py", "NameError", "undefined_name")


def test_verify_prints_the_first_twelve_failing_entries_then_how_many_more(
    tmp_path: Path, run_cli: RunCli
) -> None:
    network = tmp_path / "wide.toml"
    network.write_text(wide_3_4_2_toml("wide-3-4-2"))
    candidate = _candidate(tmp_path, DOUBLED_CANDIDATE)
    status, out, err = run_cli(
        ["verify", str(network), "--examples", "0", "--candidate", candidate]
    )
    assert status == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("FAIL wide-3-4-2: FAILED 20 of 20 entries")
    assert [line[:5] for line in lines[1:14]] == ["     "] * 13
    assert all("[backprop-bug]" in line for line in lines[1:13])
    assert lines[13] == "     ... 8 more (see --json)"
    assert lines[14] == f"{candidate}: 0 of 1 networks verified, 1 FAILED"


RAISES = "def grads(spec, params, inputs, targets):\n    raise RuntimeError('boom')\n"


def test_verify_fails_the_network_a_candidate_raises_on_instead_of_crashing(
    tmp_path: Path, run_cli: RunCli
) -> None:
    candidate = _candidate(tmp_path, RAISES)
    status, out, err = run_cli(["verify", LINEAR, "--examples", "0", "--candidate", candidate])
    assert status == 1 and err == ""
    first = out.splitlines()[0]
    assert first.startswith("FAIL linear-2-2-1: FAILED")
    assert "candidate raised RuntimeError: boom" in first


def test_report_records_a_candidate_that_raises_as_failures_instead_of_crashing(
    tmp_path: Path, run_cli: RunCli
) -> None:
    candidate = _candidate(tmp_path, RAISES)
    out_dir = tmp_path / "report"
    args = ["report", "--out", str(out_dir), "--examples", "1", "--candidate", candidate]
    status, out, err = run_cli(args)
    assert status == 1 and err == ""
    builtin = len(builtin_names())
    assert out.startswith(f"{builtin + 1} failures: wrote ")  # the built-in networks, 1 generated
    data = json.loads((out_dir / "report.json").read_text())
    assert [g["ok"] for g in data["gradients"]] == [False] * builtin
    assert all(g["notes"] == ["candidate raised RuntimeError: boom"] for g in data["gradients"])
    generated = data["properties"]
    assert [n["ok"] for n in generated["networks"]] == [False]
    assert "candidate raised RuntimeError: boom" in generated["counterexample"]["summary"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["verify", "--examples", "1", "--seed", "-1"], "'--seed': -1 is not in the range x>=0"),
        (["report", "--seed", "-1"], "'--seed': -1 is not in the range x>=0"),
        (["train", LINEAR, "--steps", "-1"], "'--steps': -1 is not in the range x>=1"),
    ],
)
def test_out_of_range_options_are_one_line_errors(
    args: list[str], fragment: str, run_cli: RunCli
) -> None:
    status, out, err = run_cli(args)
    assert status == 2 and out == ""
    assert_one_error_line(err, fragment)


@pytest.mark.parametrize(
    ("out", "fragment"),
    [
        ("", "--out '': empty path"),
        ("taken", "taken: --out must be a folder (File exists)"),
        ("taken/report", "taken/report: --out must be a folder (Not a directory)"),
        ("a" * 300, "cannot write the report (File name too long)"),
    ],
)
def test_report_rejects_a_bad_out_path_before_running_the_checks(
    out: str, fragment: str, tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    before = sorted(tmp_path.iterdir())
    status, stdout, err = run_cli(["report", "--out", str(tmp_path / out) if out else out])
    assert status == 2 and stdout == ""
    assert_one_error_line(err, fragment)
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["verify", "--candidate", "foo"], "--candidate 'foo': expected module:function"),
        (["verify", "--candidate", "{tmp}/none.py:grads"], "no such file {tmp}/none.py"),
        (["verify", "--candidate", "{candidate}:missing"], "has no function 'missing'"),
        (["verify", "--candidate", "no_such_module_here:grads"], "ModuleNotFoundError"),
        (["verify", "{tmp}/empty"], "{tmp}/empty: no .toml files"),
        (["verify", LINEAR, "--junit-xml", "{tmp}/nowhere/x.xml"], "--junit-xml {tmp}/nowhere"),
        (["verify", LINEAR, "--junit-xml", "{tmp}/afile/x.xml"], "(Not a directory)"),
        (["golden", "{tmp}/undocumented.toml"], "no [[documented]] values to check"),
        (["train", "{tmp}/none.toml", "--steps", "1"], "{tmp}/none.toml: no such file"),
    ],
)
def test_bad_input_is_one_line_naming_the_thing_and_status_2(
    args: list[str], fragment: str, tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile").write_text("a file where a folder should be")
    documented = Path(LINEAR).read_text().split("[[documented]]")[0]
    (tmp_path / "undocumented.toml").write_text(documented)
    names = {"tmp": str(tmp_path), "candidate": _candidate(tmp_path, RAISES).split(":")[0]}
    argv = [a.format(**names) for a in args] + (["--examples", "0"] if "verify" in args else [])
    status, out, err = run_cli(argv)
    assert status == 2 and out == ""
    assert_one_error_line(err, fragment.format(**names))
