"""The README runs verbatim: every code block of README.md is executed here, as a user would run
it, so a snippet that breaks fails CI. Each block is one test case, ``README:L<line>``.

Blocks are found with markdown-it-py (a dependency of rich): fenced blocks by their info string,
and indented command examples (4-space blocks whose lines start with ``gradcheck`` or
``$ gradcheck``). They run in a temporary folder laid out like a user's repository: copies of
``networks/`` and ``examples/``, ``net.toml`` (the README's spec example), ``my_net.toml`` (a
seed network), ``my_nets/`` (a spec folder holding both seed networks), ``my_family.toml`` (the
example family, a 2-layer MLP) and ``mypkg/backprop.py``, whose ``grads`` (gradcheck's own
``hand_grads``) is a correct candidate for ``mypkg.backprop:grads`` and, imported as
``my_grads``, for the Python snippets. The virtual environment's ``bin`` folder leads ``PATH``.

* Shell commands run exactly as written, through ``bash``. Each must exit 0, or 1 where the
  README shows it failing (output with a ``FAIL`` line: verify's status for a disagreement), and
  every output line the README shows under ``$ command`` (except lines with ``...``) must be a
  line of what it prints. Synopsis lines, with ``[options]`` in brackets or ``a|b``
  alternatives (``gradcheck train SPEC --steps N [--backend jax|numpy] ...``), are not commands
  and are skipped; the README marks no other placeholders.
* The two setup commands at the top (a venv, then ``pip install -e '.[dev]'``) are not run: they
  would reinstall. Their install part must be what ``.ci/run`` runs, and the test-suite command
  must be in ``.ci/run`` verbatim.
* Python blocks run as files, or as a pytest module (``python -m pytest``) when they define
  ``test_`` functions; ``my_grads`` is defined by a prepended import.
* The TOML spec example must load (``gradcheck.load_spec``) and ``gradcheck golden`` must exit 0
  on it.
* The GitHub Actions block is a workflow whose steps run in order: ``run:`` steps as written
  (``pip install gradcheck``, already installed, skipped), and the step that uses gradcheck's own
  action (``OWNER/gradcheck@REF`` or ``./path``) runs ``action.yml`` with the step's ``with:``
  inputs (:func:`run_action`: each step's ``if:`` and ``env:`` expressions evaluated, its bash
  script run as written, ``$GITHUB_OUTPUT`` read back, the upload's paths collected; the install
  with ``--dry-run``); every step of the action must succeed. Other ``uses:`` steps are skipped.
  Two more tests run the action on a wrong candidate (the job fails after the upload) and with
  a family (passed to verify as ``--family``).

Cost: every command starts its own process (JAX, compiles) and runs as written, so this module
takes 150 to 190 CPU-seconds on 2 cores (the CI block, the action's verify with 20 generated
networks and its report, about 40; the two other action runs about 25; the four ``gradcheck
verify`` examples about 35): 80 to 100 s under ``-n 2`` on two idle cores. It is not skipped;
``-k "not README"`` deselects the README's blocks locally.

Not collected: an indented block that is output, not a command (the one-line spec error), and
a block of synopses only (the report's ``gradcheck report ... [--candidate ...]``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CI_RUN = REPO / ".ci" / "run"
BIN = Path(sys.executable).parent  # the virtual environment's bin folder
TIMEOUT_S = 600  # per command; the slowest, `gradcheck report`, takes about 40 s on 2 cores

SHELL = {"bash", "sh", "shell", "console"}
PLAIN = {"", "text"}  # an indented block, or a fence without a language


@dataclass(frozen=True)
class Block:
    """One code block of README.md: where it starts, its language and its text."""

    line: int  # 1-based: the fence line, or an indented block's first line
    lang: str  # the fence's info string; "" for an indented block
    text: str


@dataclass(frozen=True)
class Command:
    """One shell command as written, and the output lines the README shows under it."""

    text: str
    shown: tuple[str, ...] = ()


def readme_blocks() -> list[Block]:
    tokens = MarkdownIt("commonmark").parse(README.read_text(encoding="utf-8"))
    blocks = []
    for token in tokens:
        if token.type not in ("fence", "code_block") or token.map is None:
            continue
        lang = token.info.split()[0] if token.type == "fence" and token.info.strip() else ""
        blocks.append(Block(token.map[0] + 1, lang, token.content))
    return blocks


def is_command_block(block: Block) -> bool:
    """Whether a block without a language shows commands rather than output."""
    first = block.text.lstrip("\n").split("\n", 1)[0]
    return re.match(r"(\$ )?gradcheck( |$)", first) is not None


def parse_commands(text: str) -> list[Command]:
    """Commands of a shell block: ``$ command`` lines own the lines below them (their output);
    without ``$``, every line is a command, and an indented line continues the one before."""
    commands: list[Command] = []
    prompted = False
    for line in text.splitlines():
        if not line.strip() or (not commands and line.lstrip().startswith("#")):
            continue
        if line.startswith("$ "):
            prompted = True
            commands.append(Command(line[2:]))
        elif prompted:
            commands[-1] = Command(commands[-1].text, (*commands[-1].shown, line))
        elif line[0].isspace() and commands:
            commands[-1] = Command(f"{commands[-1].text}\n{line}")
        else:
            commands.append(Command(line))
    return commands


def is_synopsis(command: str) -> bool:
    """``[options]`` or ``a|b`` outside quotes and comments: a synopsis, not a command."""
    bare = re.sub(r"'[^']*'|\"[^\"]*\"", "", command)
    bare = re.sub(r"(^|\s)#.*$", "", bare, flags=re.MULTILINE)
    return "[" in bare or "|" in bare


def is_setup(command: str) -> bool:
    return "-m venv" in command or "pip install" in command


def runnable(block: Block) -> bool:
    """Not output (an indented block that is no command) and not synopses only."""
    if block.lang in PLAIN and not is_command_block(block):
        return False
    if block.lang in SHELL | PLAIN:
        return any(not is_synopsis(c.text) for c in parse_commands(block.text))
    return True


BLOCKS = readme_blocks()
RUNNABLE = [b for b in BLOCKS if runnable(b)]


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """A temporary folder laid out like a user's repository (see the module's docstring)."""
    shutil.copytree(REPO / "networks", tmp_path / "networks")
    shutil.copytree(
        REPO / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    spec_example = next(b for b in BLOCKS if b.lang == "toml")
    (tmp_path / "net.toml").write_text(spec_example.text)
    shutil.copy(REPO / "networks" / "sigmoid_2_2_2.toml", tmp_path / "my_net.toml")
    shutil.copytree(REPO / "networks", tmp_path / "my_nets")
    shutil.copy(REPO / "examples" / "two_layer_family.toml", tmp_path / "my_family.toml")
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "backprop.py").write_text(
        '"""A correct candidate: gradcheck\'s own hand-derived backprop."""\n\n'
        "from gradcheck import hand_grads\n\n\n"
        "def grads(spec, params, inputs, targets):\n"
        "    return hand_grads(spec, params, inputs, targets)\n"
    )
    return tmp_path


def run(
    argv: list[str], cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env.pop("PYTEST_CURRENT_TEST", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env |= extra_env or {}
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def run_shell(command: Command, cwd: Path, where: str) -> None:
    """Run one command as written; check its exit status and the output the README shows."""
    result = run(["bash", "-c", command.text], cwd)
    printed = result.stdout + result.stderr
    expected = 1 if any(line.startswith("FAIL") for line in command.shown) else 0
    assert result.returncode == expected, (
        f"{where}: `{command.text}` exited {result.returncode}, the README implies {expected}:\n"
        f"{printed[-4000:]}"
    )
    lines = {line.rstrip() for line in printed.splitlines()}
    for line in command.shown:
        if "..." not in line:
            assert line.rstrip() in lines, f"{where}: `{command.text}` did not print\n{line}\n"


def check_setup(command: str, where: str) -> None:
    """A setup line is not run: its install steps must be .ci/run's, and a line that runs the
    test suite must be in .ci/run verbatim."""
    ci_run = CI_RUN.read_text()
    steps = command.split(" && ")
    install = " && ".join(s for s in steps if is_setup(s))
    assert install and install in ci_run, f"{where}: .ci/run does not install as `{install}`"
    if "pytest" in command:
        assert command in ci_run, f"{where}: .ci/run does not run `{command}` verbatim"


def run_shell_block(block: Block, cwd: Path, where: str) -> None:
    for command in parse_commands(block.text):
        if is_synopsis(command.text):
            continue
        if is_setup(command.text):
            check_setup(command.text, where)
        else:
            run_shell(command, cwd, where)


def run_python_block(block: Block, cwd: Path, where: str) -> None:
    source = block.text
    if re.search(r"\bmy_grads\b", source):
        source = f"from mypkg.backprop import grads as my_grads\n{source}"
    if re.search(r"^def test_", source, re.MULTILINE):
        path = cwd / f"test_readme_L{block.line}.py"
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path.name]
    else:
        path = cwd / f"readme_L{block.line}.py"
        argv = [sys.executable, path.name]
    path.write_text(source)
    result = run(argv, cwd)
    assert result.returncode == 0, (
        f"{where}: exited {result.returncode}:\n" + (result.stdout + result.stderr)[-6000:]
    )


def run_toml_block(block: Block, cwd: Path, where: str) -> None:
    from gradcheck import load_spec

    path = cwd / f"readme_L{block.line}.toml"
    path.write_text(block.text)
    load_spec(path)
    run_shell(Command(f"gradcheck golden {path.name}"), cwd, where)


# -- GitHub Actions: the README's workflow and the action it uses (action.yml) ---------------
ACTION = REPO / "action.yml"
# `uses:` of gradcheck's own action: OWNER/gradcheck@REF as the README writes it, or ./a/copy
ACTION_USES = re.compile(r"(\./\S*|[^/\s]+/gradcheck@\S+)")
# the tokens of a GitHub expression this runner understands (action.yml keeps to them)
EXPRESSION_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<op>&&|\|\||==|!=|!|\(|\))"
    r"|(?P<call>(?:success|failure|cancelled|always)\(\))|(?P<name>[A-Za-z_][\w.-]*))"
)


@dataclass
class ActionRun:
    """What running action.yml's steps did: each step's exit status (None: skipped, or a
    ``uses:`` step), its outputs, the files the upload step would upload, the output and the
    job summary written."""

    statuses: dict[str, int | None]
    outputs: dict[str, dict[str, str]]
    uploaded: list[Path]
    printed: str = ""
    summary: str = ""

    @property
    def failed(self) -> bool:
        return any(status for status in self.statuses.values())


def _yaml_string(value: object) -> str:
    """A ``with:`` value as GitHub passes it: a string (YAML's true as ``true``, 0 as ``0``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def evaluate(expression: str, context: dict[str, str], failed: bool) -> str | bool:
    """A GitHub expression of the forms action.yml uses: ``inputs.x``, ``steps.id.outputs.x``,
    ``github.action_path``, string literals, ``== != && || !`` and the status functions."""
    python, position, text = [], 0, expression.strip()
    while position < len(text):
        token = EXPRESSION_TOKEN.match(text, position)
        assert token is not None and token.end() > position, f"unsupported: {text[position:]!r}"
        position = token.end()
        if token["string"] is not None:
            python.append(repr(token["string"][1:-1].replace("''", "'")))
        elif token["op"] is not None:
            python.append({"&&": " and ", "||": " or ", "!": " not "}.get(token["op"], token["op"]))
        elif token["call"] is not None:
            status = {"success": not failed, "failure": failed, "cancelled": False}
            python.append(repr(status.get(token["call"][:-2], True)))
        elif token["name"].startswith("steps."):  # a step that did not run has no outputs
            python.append(repr(context.get(token["name"], "")))
        else:
            assert token["name"] in context, f"unknown in an expression: {token['name']}"
            python.append(repr(context[token["name"]]))
    return eval("".join(python), {"__builtins__": {}})  # type: ignore[no-any-return]


def expand(value: object, context: dict[str, str], failed: bool = False) -> str:
    """``${{ expression }}`` substituted in a string."""
    return re.sub(
        r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m[1], context, failed)), _yaml_string(value)
    )


def run_action(inputs: dict[str, object], cwd: Path, where: str) -> ActionRun:
    """Run action.yml's steps in order as GitHub runs a composite action: each step's ``if:``
    evaluated (``success()`` unless written), its ``env:`` expanded, its ``run:`` script as
    written under ``bash --noprofile --norc -eo pipefail`` with ``$GITHUB_OUTPUT``; a step that
    fails makes the later default-conditioned steps skip. Not run: ``actions/setup-python``
    (this virtual environment's python is on ``PATH``) and the upload, whose paths are
    collected instead; the install runs with ``--dry-run --no-deps`` added to its pip
    arguments (pip builds the action folder's metadata and installs nothing)."""
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    declared = action["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"{where}: the action has no input {sorted(unknown)}"
    context = {f"inputs.{k}": _yaml_string(v.get("default", "")) for k, v in declared.items()}
    context |= {f"inputs.{k}": _yaml_string(v) for k, v in inputs.items()}
    context["github.action_path"] = str(REPO)
    result = ActionRun({}, {}, [])
    files = Path(tempfile.mkdtemp(prefix="gradcheck-action-"))  # $GITHUB_OUTPUT and the summary
    summary = files / "summary.md"
    summary.write_text("")
    for index, step in enumerate(action["runs"]["steps"]):
        name = step.get("id", f"step{index}")
        failed = result.failed
        condition = str(step.get("if", "success()")).strip()  # with or without ${{ }}
        if not evaluate(re.sub(r"^\$\{\{(.*)\}\}$", r"\1", condition), context, failed):
            result.statuses[name] = None
            continue
        if "uses" in step:
            result.statuses[name] = None
            paths = expand(step.get("with", {}).get("path", ""), context).splitlines()
            if step["uses"].startswith("actions/upload-artifact@"):
                result.uploaded += [cwd / p for p in paths if p.strip() and (cwd / p).exists()]
            else:
                assert step["uses"].startswith("actions/setup-python@"), step["uses"]
            continue
        assert step.get("shell") == "bash", f"action.yml step {name}: shell: bash expected"
        outputs_file = files / f"output_{name}"
        outputs_file.write_text("")
        env = {k: expand(v, context, failed) for k, v in step.get("env", {}).items()}
        env |= {"GITHUB_OUTPUT": str(outputs_file), "GITHUB_STEP_SUMMARY": str(summary)}
        env["GITHUB_ACTION_PATH"] = str(REPO)
        if name == "install":  # pip builds the action folder's metadata, installs nothing
            env["GRADCHECK_PIP_INSTALL"] += " --dry-run --no-deps --quiet"
        script = expand(step["run"], context, failed)
        done = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd, env)
        result.printed += f"$ [{name}]\n{done.stdout}{done.stderr}"
        result.statuses[name] = done.returncode
        lines = outputs_file.read_text().splitlines()
        result.outputs[name] = dict(line.split("=", 1) for line in lines if "=" in line)
        for key, value in result.outputs[name].items():
            context[f"steps.{name}.outputs.{key}"] = value
    result.summary = summary.read_text()
    shutil.rmtree(files)
    return result


def workflow_steps(text: str) -> list[dict[str, object]]:
    """The steps of a GitHub Actions workflow (``jobs.<job>.steps``), or of a bare steps list."""
    document = yaml.safe_load(text)
    if isinstance(document, dict) and "jobs" in document:
        return [s for job in document["jobs"].values() for s in job.get("steps", [])]
    return document["steps"] if isinstance(document, dict) else document  # type: ignore[no-any-return]


def run_yaml_block(block: Block, cwd: Path, where: str) -> None:
    """``run:`` steps as written (``pip install gradcheck`` skipped: installed), the gradcheck
    action with its ``with:`` inputs (:func:`run_action`), other ``uses:`` steps skipped."""
    steps = workflow_steps(block.text)
    ran = 0
    for step in steps:
        uses, script = str(step.get("uses", "")), step.get("run")
        if ACTION_USES.fullmatch(uses):
            inputs = step.get("with") or {}
            assert isinstance(inputs, dict), f"{where}: with: must be a mapping"
            action = run_action(inputs, cwd, where)
            assert not action.failed, (
                f"{where}: the action failed: {action.statuses}\n{action.printed[-6000:]}"
            )
            ran += 1
        elif isinstance(script, str) and not re.match(r"pip install gradcheck\b", script):
            run_shell(Command(script.strip()), cwd, where)
            ran += 1
    assert ran, f"{where}: no step runs gradcheck"


RUNNERS = {
    **dict.fromkeys(SHELL | PLAIN, run_shell_block),
    "python": run_python_block,
    "toml": run_toml_block,
    **dict.fromkeys(("yaml", "yml"), run_yaml_block),
}


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: f"README:L{b.line}")
def test_readme_block_runs_as_written(block: Block, user_repo: Path) -> None:
    where = f"README.md line {block.line}"
    runner = RUNNERS.get(block.lang)
    assert runner is not None, f"{where}: no way to run a ```{block.lang} block; add one here"
    runner(block, user_repo, where)


def test_the_readme_blocks_are_found() -> None:
    """The parser sees every kind of block the README has, so none is dropped unnoticed, and
    the CI example uses the action (so its test runs action.yml)."""
    assert {b.lang for b in RUNNABLE} >= {"bash", "python", "toml", "yaml", ""}
    ci = [b for b in RUNNABLE if b.lang in ("yaml", "yml")]
    uses = [str(s.get("uses", "")) for b in ci for s in workflow_steps(b.text)]
    assert any(ACTION_USES.fullmatch(u) for u in uses), uses


def test_the_action_fails_the_job_after_the_upload(user_repo: Path) -> None:
    """action.yml with a wrong candidate (seed 000's program) on two of the user's specs and
    two generated networks, no report: verify's status 1 is kept as the step's output, the
    JUnit XML and the failing generated networks' replay specs are what the upload takes, and
    only the last step fails the job, with an error annotation."""
    inputs = {
        "specs": "networks/linear_2_2_1.toml\nnetworks/sigmoid_2_2_2.toml",
        "candidate": "examples/seed_code_candidate.py:grads",
        "examples": 2,
        "report-dir": "",
    }
    result = run_action(inputs, user_repo, "action.yml")
    assert result.statuses == {
        "setup-python": None,  # a uses: step
        "install": 0,
        "verify": 0,
        "report": None,  # report-dir: ""
        "upload": None,  # a uses: step
        "outcome": 1,
    }, result.printed
    assert result.outputs["verify"] == {"exit-code": "1"}
    for name in ("linear-2-2-1", "sigmoid-2-2-2", "generated-"):
        assert f"FAIL {name}" in result.printed
    junit, failures = user_repo / "gradcheck-report" / "junit.xml", user_repo / "gradcheck-failures"
    assert "<failure" in junit.read_text()
    assert list(failures.glob("generated-*-seed0-case*.toml"))
    assert set(result.uploaded) == {junit, failures}
    assert "::error title=gradcheck verify::gradcheck verify exited 1" in result.printed
    assert result.summary.startswith("### gradcheck verify: exit status 1\n```\nFAIL ")


def test_the_action_passes_the_family_through(user_repo: Path) -> None:
    """action.yml with the fixed 2-layer candidate and its family, no specs (the built-in
    networks, outside the family) and no report: verify gets ``--family``, draws the generated
    networks from it and exits 0; nothing fails the job."""
    inputs = {
        "candidate": "examples/two_layer_mlp.py:grads",
        "family": "examples/two_layer_family.toml",
        "examples": 3,
        "report-dir": "",
    }
    result = run_action(inputs, user_repo, "action.yml")
    assert not result.failed and result.outputs["verify"] == {"exit-code": "0"}, result.printed
    assert "--family examples/two_layer_family.toml" in result.printed
    assert re.search(r"^ok +generated-", result.printed, re.MULTILINE), result.printed
    assert not (user_repo / "gradcheck-failures").exists()
