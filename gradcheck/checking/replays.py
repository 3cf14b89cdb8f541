"""Every failure reproducible: a failing generated network saved as a spec file, with the
command that checks it again.

A generated network exists only as a draw, ``sample_networks(n, seed)[index]``. When one fails,
:func:`save_replay` writes its spec (weights and samples included, so :func:`~gradcheck.load_spec`
loads it back and ``verify`` finds the same failure) to ``<folder>/<name>-seed<S>-case<I>.toml``,
through a temporary file renamed into place, the folder created only then; a :class:`Replay`
names the file, the seed and index, and the ``gradcheck verify`` command that reproduces the
failure with the run's candidate and tolerance options (:func:`reproduce_options`).
``gradcheck verify`` saves under :data:`DEFAULT_FAILURES_DIR` (``--failures-dir``), the pytest
fixture under its temporary folder (``--gradcheck-failures-dir``), the report beside its page.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradcheck.spec import GradcheckError, Spec, spec_to_toml
from gradcheck.spec.specfile import write_text_atomically

__all__ = [
    "DEFAULT_FAILURES_DIR",
    "Replay",
    "check_failures_dir",
    "replay_name",
    "reproduce_options",
    "save_replay",
]

DEFAULT_FAILURES_DIR = "gradcheck-failures"  # in the working folder, created only on a failure


@dataclass(frozen=True)
class Replay:
    """A failing generated network saved at ``path``: ``sample_networks(n, seed)[index]``, and
    ``command``, the ``gradcheck verify`` line that reproduces its failure."""

    path: Path
    seed: int
    index: int | None  # None: shrunk by Hypothesis, no draw of the sample
    command: str

    def lines(self) -> list[str]:
        """``replay: <path> (seed S, case I)`` and ``reproduce: <command>``."""
        where = "shrunk" if self.index is None else f"case {self.index}"
        return [f"replay: {self.path} (seed {self.seed}, {where})", f"reproduce: {self.command}"]

    def to_dict(self) -> dict[str, Any]:
        """``replay_path``, ``seed``, ``index``, ``reproduce``: the ``--json`` fields."""
        return {
            "replay_path": str(self.path),
            "seed": self.seed,
            "index": self.index,
            "reproduce": self.command,
        }


def replay_name(name: str, seed: int, index: int | None) -> str:
    """``generated-3-5-seed0-case7.toml``: the network's name (anything but letters, digits,
    ``.``, ``_`` and ``-`` made ``_``), the seed and the index of the draw; ``-shrunk`` for a
    network Hypothesis shrank (``index`` None: no draw of the sample)."""
    safe = re.sub(r"[^\w.-]", "_", name, flags=re.ASCII)
    return f"{safe}-seed{seed}-" + ("shrunk.toml" if index is None else f"case{index}.toml")


def check_failures_dir(folder: str | Path, option: str = "--failures-dir") -> Path:
    """``folder`` as a path, checked before any check runs: not empty, not a file and not below
    one. Nothing is created; :func:`save_replay` creates it on the first failure."""
    if not str(folder).strip():
        raise GradcheckError(f"{option} '': empty path; give the folder for failing networks")
    path = Path(folder)
    blocked = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise GradcheckError(f"{option} {path}: cannot write ({blocked} is not a folder)")
    return path


def save_replay(
    spec: Spec | str,
    folder: str | Path,
    seed: int,
    index: int | None,
    options: list[str] | None = None,
    name: str | None = None,
) -> Replay:
    """Write ``spec`` (a Spec, or its TOML text with its ``name``) as ``<folder>/<replay_name>``,
    the folder and its parents created if missing, through a temporary file renamed into place
    (a crash leaves no half file), and return its :class:`Replay`: the command is ``gradcheck
    verify <path>`` and ``options``, those of the run (:func:`reproduce_options`)."""
    text = spec if isinstance(spec, str) else spec_to_toml(spec)
    folder = Path(folder)
    network = (name or "network") if isinstance(spec, str) else spec.name
    path = folder / replay_name(network, seed, index)
    write_text_atomically(path, text, "save the failing network")
    command = shlex.join(["gradcheck", "verify", str(path), *(options or [])])
    return Replay(path, seed, index, command)


def reproduce_options(
    candidate: str | None = None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    mode: str = "auto",
) -> list[str]:
    """What follows the file in the command that reproduces a failure, as arguments:
    ``--examples 0`` (that network alone), then the run's ``--candidate``, ``--rtol``, ``--atol``
    and ``--mode`` where they are not the defaults."""
    args = ["--examples", "0"]
    args += ["--candidate", candidate] if candidate else []
    args += ["--rtol", repr(rtol)] if rtol is not None else []
    args += ["--atol", repr(atol)] if atol is not None else []
    return args + (["--mode", mode] if mode != "auto" else [])
