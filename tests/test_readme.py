"""The README runs verbatim: every code block of README.md is executed here, as a user would run
it, so a snippet that breaks fails CI. Each block is one test case, ``README:L<line>``.

Blocks are found with markdown-it-py (a dependency of rich): fenced blocks by their info string,
and indented command examples (4-space blocks whose lines start with ``gradcheck`` or
``$ gradcheck``). They run in a temporary folder laid out like a user's repository: copies of
``networks/`` and ``examples/``, ``net.toml`` (the README's spec example), ``my_net.toml`` (a
seed network), ``my_nets/`` (a spec folder holding both seed networks) and ``mypkg/backprop.py``,
whose ``grads`` (gradcheck's own ``hand_grads``) is a correct candidate for
``mypkg.backprop:grads`` and, imported as ``my_grads``, for the Python snippets. The virtual
environment's ``bin`` folder leads ``PATH``.

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
* The GitHub Actions block's ``run:`` steps run in order (``uses:`` steps, ``if:`` conditions and
  ``pip install gradcheck``, already installed, are skipped).

Cost: every command starts its own process (JAX, compiles) and runs as written, so this module
takes 130 to 170 CPU-seconds on 2 cores (the CI block, with ``gradcheck report``'s default 100
generated networks, about 40; the four ``gradcheck verify`` examples about 35): 70 to 90 s under
``-n 2`` on two idle cores. It is not skipped; ``-k "not README"`` deselects it locally.

Not collected: an indented block that is output, not a command (the one-line spec error), and
a block of synopses only (the report's ``gradcheck report ... [--candidate ...]``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
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


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env.pop("PYTEST_CURRENT_TEST", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
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


def workflow_run_steps(text: str) -> list[str]:
    """The ``run:`` values of a GitHub Actions steps list, in order (inline, ``|`` or ``>``)."""
    steps: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"(\s*(?:-\s+)?)run:\s*(.*?)\s*$", line)
        if match is None:
            continue
        value = match.group(2)
        if value[:1] in ("|", ">"):  # a block scalar: the lines indented below the key
            indent = len(match.group(1))
            body = []
            for following in lines[i + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following.strip())
            value = ("\n" if value[0] == "|" else " ").join(body).strip()
        steps.append(value)
    return steps


def run_yaml_block(block: Block, cwd: Path, where: str) -> None:
    steps = workflow_run_steps(block.text)
    assert steps, f"{where}: no run: steps"
    for step in steps:
        if not re.match(r"pip install gradcheck\b", step):
            run_shell(Command(step), cwd, where)


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
    """The parser sees every kind of block the README has, so none is dropped unnoticed."""
    assert {b.lang for b in RUNNABLE} >= {"bash", "python", "toml", "yaml", ""}
