"""The command line on bad input: one line on stderr naming the thing, exit status 2, no
traceback; a candidate that raises fails its network (exit status 1) instead of the run; help
for every option with each command's exit statuses, Ctrl-C as one line and status 130, and
click's shell completion."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import click
import pytest
from helpers import (
    DOUBLED_CANDIDATE,
    RunCli,
    assert_one_error_line,
    builtin_names,
    builtin_specs,
    scaled_output_candidate,
    seed_path,
    wide_3_4_2_toml,
)

from gradcheck.checking.candidates import kinds_hint

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


def test_a_candidate_file_imports_the_module_beside_it_from_any_folder(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # python path/to/net.py puts path/to first on sys.path; --candidate path/to/net.py:grads
    # does the same, so a candidate split over two files loads (it raised ModuleNotFoundError).
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "my_layers_beside.py").write_text(
        "from gradcheck.hand import hand_grads\n\ndef backprop(*a):\n    return hand_grads(*a)\n"
    )
    (mine / "net.py").write_text(
        "import my_layers_beside\n\n"
        "def grads(spec, params, inputs, targets):\n"
        "    return my_layers_beside.backprop(spec, params, inputs, targets)\n"
    )
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(
        ["verify", LINEAR, "--examples", "0", "--candidate", "mine/net.py:grads"]
    )
    assert (status, err) == (0, ""), out
    assert out.splitlines()[0].startswith("ok   linear-2-2-1: verified")


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
    # the built-in networks and 1 generated network, each counted where it failed
    counts = f"{builtin} in gradient checks, 1 in generated networks"
    assert out.startswith(f"{builtin + 1} failures ({counts}): wrote ")
    data = json.loads((out_dir / "report.json").read_text())
    assert [g["ok"] for g in data["gradients"]] == [False] * builtin
    raised = "candidate raised RuntimeError: boom at candidate.py:2"
    hints = {s.name: kinds_hint(s.kinds) for s in builtin_specs()}  # conv_8x8: declare kinds
    assert all(g["notes"] == [raised + hints[g["name"]]] for g in data["gradients"])
    generated = data["properties"]
    assert [n["ok"] for n in generated["networks"]] == [False]
    assert "candidate raised RuntimeError: boom" in generated["counterexample"]["summary"]
    page = (out_dir / "index.html").read_text()
    table = page.split('class="failing-networks"')[1].split("</table>")[0]
    assert "candidate raised RuntimeError: boom" in table  # the page says why, not only the JSON


# -- every failure reproducible ----------------------------------------------------------------
SCALED_OUTPUT = scaled_output_candidate()


def _blocks(out: str) -> list[tuple[str, list[str]]]:
    """verify's text output as (network line, its indented lines), the tally line left out."""
    blocks: list[tuple[str, list[str]]] = []
    for line in out.splitlines():
        if line.startswith(("ok   ", "FAIL ")):
            blocks.append((line, []))
        elif line.startswith("     "):
            blocks[-1][1].append(line.strip())
    return blocks


def _scaled_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``verify`` arguments for the scaled-output candidate, written to ``tmp_path`` (now the
    working folder) on 3 networks of seed 3: the output layer's W is trainable in the first two
    only (the bug's)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scaled.py").write_text(SCALED_OUTPUT)
    return ["verify", LINEAR, "--examples", "3", "--seed", "3", "--candidate", "scaled.py:grads"]


def test_a_failing_generated_network_is_saved_and_its_printed_command_reproduces_the_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    args = _scaled_in(tmp_path, monkeypatch)
    status, out, err = run_cli([*args, "--no-shrink"])
    assert status == 1 and err == ""
    blocks = _blocks(out)
    assert not any(line.startswith("replay:") for line in blocks[0][1])  # a file is its own
    generated = blocks[1:]
    failed = [(first, lines) for first, lines in generated if first.startswith("FAIL")]
    assert len(generated) == 3 and 0 < len(failed) < 3  # the bug shows on some networks only
    assert len(list((tmp_path / "gradcheck-failures").iterdir())) == len(failed)
    for first, lines in failed:
        name = first.split()[1].rstrip(":")
        replay = re.fullmatch(
            rf"replay: (gradcheck-failures/{name}-seed3-case(\d)\.toml) \(seed 3, case \2\)",
            lines[-2],
        )
        assert replay, lines[-2]
        command = f"gradcheck verify {replay[1]} --examples 0 --candidate scaled.py:grads"
        assert lines[-1] == f"reproduce: {command}"
        again = run_cli(shlex.split(command)[1:])
        assert again.status == 1 and again.err == ""
        assert _blocks(again.out) == [(first, lines[:-2])]  # the same verdict, the same entries


def test_failing_generated_networks_are_shrunk_to_a_smallest_one_saved_with_its_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    args = _scaled_in(tmp_path, monkeypatch)
    status, out, err = run_cli([*args, "--json"])
    assert status == 1 and err == ""
    found = json.loads(out)
    smallest = found["smallest"]
    drawn = [n["n_params"] for n in found["networks"][1:] if not n["ok"]]
    assert smallest["shrunk"] and smallest["index"] is None
    name = smallest["summary"].split(":")[0]
    assert smallest["replay_path"] == f"gradcheck-failures/{name}-seed3-shrunk.toml"
    again = run_cli([*shlex.split(smallest["reproduce"])[1:], "--json"])
    (replayed,) = json.loads(again.out)["networks"]
    assert again.status == 1 and replayed["summary"] == smallest["summary"]
    assert replayed["n_params"] <= min(drawn)
    text = run_cli(args).out.splitlines()
    at = next(k for k, line in enumerate(text) if line.startswith("smallest failing network"))
    assert text[at] == f"smallest failing network (shrunk by Hypothesis): {smallest['network']}"
    assert text[at + 2 :] == [
        f"     replay: {smallest['replay_path']} (seed 3, shrunk)",
        f"     reproduce: {smallest['reproduce']}",
    ]
    assert run_cli([*args, "--no-shrink", "--json"]).out.count('"smallest"') == 0


def test_verify_json_and_junit_carry_each_generated_networks_seed_index_file_and_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    monkeypatch.chdir(tmp_path)
    candidate = _candidate(tmp_path, SCALED_OUTPUT)
    args = ["verify", LINEAR, "--examples", "3", "--seed", "1", "--candidate", candidate]
    args += ["--rtol", "1e-08", "--failures-dir", "out/failing", "--json", "--junit-xml", "j.xml"]
    status, out, err = run_cli(args)
    assert status == 1 and err == ""
    networks = json.loads(out)["networks"]
    assert "replay_path" not in networks[0]  # linear-2-2-1, a file
    generated = networks[1:]
    assert [(n["seed"], n["index"]) for n in generated] == [(1, 0), (1, 1), (1, 2)]
    passed = [n for n in generated if n["ok"]]
    assert all(n["replay_path"] is None and n["reproduce"] is None for n in passed)
    failed = [n for n in generated if not n["ok"]]
    assert failed
    junit = ET.parse(tmp_path / "j.xml").getroot()
    for n in failed:
        path = f"out/failing/{n['name']}-seed1-case{n['index']}.toml"
        assert n["replay_path"] == path and (tmp_path / path).is_file()
        command = f"gradcheck verify {path} --examples 0 --candidate {candidate} --rtol 1e-08"
        assert n["reproduce"] == command
        again = run_cli([*shlex.split(command)[1:], "--json"])
        (replayed,) = json.loads(again.out)["networks"]
        assert again.status == 1 and "replay_path" not in replayed
        assert (replayed["summary"], replayed["entries"]) == (n["summary"], n["entries"])
        texts = [f.text or "" for f in junit.iter("failure")]
        assert any(t.endswith(f"reproduce: {command}") for t in texts)


def test_nothing_is_saved_when_every_network_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli(["verify", LINEAR, "--examples", "3", "--seed", "0", "--json"])
    assert status == 0 and list(tmp_path.iterdir()) == []
    generated = json.loads(out)["networks"][1:]
    assert [(n["replay_path"], n["reproduce"]) for n in generated] == [(None, None)] * 3


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
        (["verify", LINEAR, "--junit-xml", "{tmp}/afile/x.xml"], "({tmp}/afile is not a folder)"),
        (["verify", LINEAR, "--failures-dir", "{tmp}/afile/x"], "({tmp}/afile is not a folder)"),
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


NO_DENSE = "no network can be generated: kinds=('conv2d', 'flatten'): generated networks end in"


@pytest.mark.parametrize(
    "command",
    [
        ["verify"],
        ["mutate", "--candidate", "gradcheck.hand.backprop:hand_grads"],
        ["report", "--out", "{tmp}/report"],
    ],
    ids=["verify", "mutate", "report"],
)
def test_a_family_no_network_can_be_drawn_from_is_one_line_and_status_2(
    command: list[str], tmp_path: Path, run_cli: RunCli
) -> None:
    # a candidate of conv layers alone (a trial's family): the generated networks end in dense
    # layers, so --examples cannot be met (it was a traceback from Hypothesis, status 1)
    argv = [a.format(tmp=tmp_path) for a in command] + ["--kinds", "conv2d,flatten"]
    status, out, err = run_cli([*argv, "--examples", "3"])
    assert status == 2 and out == ""
    assert_one_error_line(err, NO_DENSE)
    assert not (tmp_path / "report").exists()  # nothing made
    if command[0] != "report":  # --examples 0: the given networks only, nothing drawn
        status, out, err = run_cli([*argv, "--examples", "0"])
        assert "Traceback" not in err and status in (1, 2), err


# -- help, exit statuses, Ctrl-C and shell completion ------------------------------------------
def test_every_option_has_help_and_every_command_names_its_exit_statuses() -> None:
    import click

    from gradcheck.cli import app

    assert app.commands
    for name, command in app.commands.items():
        for param in command.params:
            if isinstance(param, click.Option):
                assert (param.help or "").strip(), f"{name} {param.opts[0]} has no help"
        with click.Context(command, info_name=name) as ctx:
            text = " ".join(command.get_help(ctx).split()).lower()
        assert "exit status" in text and "130 interrupted" in text, name
    with click.Context(app, info_name="gradcheck") as ctx:
        text = " ".join(app.get_help(ctx).split())
    assert "Exit status: 0 ok, 1 a check failed" in text and "130 interrupted" in text
    for shell in ("bash", "zsh", "fish"):
        assert f"_GRADCHECK_COMPLETE={shell}_source gradcheck" in text


def test_ctrl_c_in_a_command_is_one_line_and_status_130(
    monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    from gradcheck.training import runner

    def interrupted(*_: object, on_progress: Any = None, **__: object) -> None:
        on_progress(40)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "train", interrupted)
    status, out, err = run_cli(["train", LINEAR, "--steps", "100", "--json", "--no-cache"])
    assert (status, out, err) == (130, "", "gradcheck: train: interrupted after 40 of 100 steps\n")

    def schema() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("gradcheck.cli.spec_commands.spec_json_schema", schema)
    assert run_cli(["schema"]) == (130, "", "gradcheck: schema: interrupted\n")


@pytest.mark.parametrize(
    ("words", "cword", "want"),
    [
        ("gradcheck tr", 1, ["plain,train"]),
        ("gradcheck train --opt", 2, ["plain,--optimizer"]),
        ("gradcheck train --device", 3, ["plain,auto", "plain,cpu", "plain,gpu"]),
        ("gradcheck verify net", 2, ["file,net"]),
        ("gradcheck train net", 2, ["file,net"]),
    ],
)
def test_shell_completion_completes_commands_options_choices_and_files(
    words: str, cword: int, want: list[str], monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    monkeypatch.setenv("_GRADCHECK_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", words)  # word COMP_CWORD, past the end here, is ""
    monkeypatch.setenv("COMP_CWORD", str(cword))
    assert run_cli([]) == (0, "\n".join(want) + "\n", "")


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o"), ("zsh", "#compdef"), ("fish", "complete --no-files")],
)
def test_shell_completion_scripts_are_printed_for_bash_zsh_and_fish(
    shell: str, marker: str, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    monkeypatch.setenv("_GRADCHECK_COMPLETE", f"{shell}_source")
    status, out, err = run_cli([])
    assert status == 0 and err == "" and marker in out and "_gradcheck_completion" in out


def test_verify_keeps_its_compiled_programs_in_the_persistent_cache(tmp_path: Path) -> None:
    # a second run skips XLA's compiles (gradcheck verify: 16.5 s cold, 7.5 s warm); the cache
    # goes under XDG_CACHE_HOME, and an empty JAX_COMPILATION_CACHE_DIR turns it off
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    command = [sys.executable, "-m", "gradcheck", "verify", LINEAR, "--examples", "0"]
    for cache, setting in (("on", {}), ("off", {"JAX_COMPILATION_CACHE_DIR": ""})):
        home = tmp_path / cache
        ran = subprocess.run(
            command, env={**env, "XDG_CACHE_HOME": str(home), **setting}, capture_output=True
        )
        assert ran.returncode == 0, ran.stderr
        written = list((home / "gradcheck" / "xla").glob("*")) if home.exists() else []
        assert bool(written) == (cache == "on"), written


# -- layer kinds: every kind by default, --kinds narrows --------------------------------------
DENSE_ONLY = """
def grads(spec, params, inputs, targets):
    from gradcheck.hand import hand_grads
    if set(spec.kinds) != {"dense"}:
        raise KeyError("W")  # code written for dense layers, as a user's MLP often is
    return hand_grads(spec, params, inputs, targets)
"""


def test_a_dense_only_candidate_fails_other_kinds_with_a_hint_and_passes_with_kinds_dense(
    tmp_path: Path, run_cli: RunCli
) -> None:
    candidate = _candidate(tmp_path, DENSE_ONLY)
    every = ["verify", "--examples", "6", "--candidate", candidate, "--json"]
    status, out, _ = run_cli(every)
    failed = [v for v in json.loads(out)["networks"] if not v["ok"]]
    assert status == 1 and failed
    assert all("declare the kinds it does, --kinds dense" in v["problem"] for v in failed)
    status, out, _ = run_cli([*every, "--kinds", "dense"])
    verdicts = json.loads(out)["networks"]
    generated = [v for v in verdicts if v["name"].startswith("generated")]
    assert status == 0 and len(generated) == 6 and all(v["ok"] for v in generated)


def test_a_family_from_flags_carries_the_arguments_that_make_it_again(tmp_path: Path) -> None:
    # the report printed '--family command-line family' for a family made of --kinds and
    # --depth, a command that failed with 'no such file'
    from click.testing import CliRunner

    from gradcheck.cli import family_options

    made: list[Any] = []

    @click.command()
    @family_options
    def probe(family: Any) -> None:
        made.append(family)

    fam = tmp_path / "fam.toml"
    fam.write_text('name = "mine"\nkinds = ["dense"]\n')
    runs = {
        ("--kinds", "dense", "--depth", "1-2"): ("--depth", "1-2", "--kinds", "dense"),
        ("--family", str(fam), "--losses", "mse"): ("--family", str(fam), "--losses", "mse"),
        (
            "--depth",
            "3",
        ): ("--depth", "3"),
    }
    for args, again in runs.items():
        assert CliRunner().invoke(probe, list(args)).exit_code == 0
        assert made[-1].arguments == again
        assert CliRunner().invoke(probe, list(again)).exit_code == 0  # it parses
        assert made[-1] == made[-2]  # the same family
    assert CliRunner().invoke(probe, []).exit_code == 0 and made[-1] is None
