"""The ``mutate`` command (issue 10): a mutation score for a gradient function. Small faults are
planted in its module one at a time (:mod:`~gradcheck.checking.mutants`), each mutant is
verified as ``gradcheck verify`` would verify it, on the same networks, in parallel processes
(:mod:`~gradcheck.checking.mutation`), and the mutants verification missed are printed with
their diffs: those that survived, then those equivalent to the original on every network.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from gradcheck.checking.mutants import OPERATORS
from gradcheck.cli import (
    _enable_x64,
    _Names,
    app,
    check_drawable,
    exit_statuses,
    family_options,
    generated_options,
    tolerance_options,
)

if TYPE_CHECKING:
    from gradcheck.checking.mutation import MutantResult
    from gradcheck.spec.family import Family

_HAND = "gradcheck.hand:hand_grads"


@app.command(
    "mutate",
    epilog=exit_statuses("every mutant killed (or equivalent)", "a mutant survived"),
)
@click.argument("specs", nargs=-1, type=click.Path(path_type=str))
@generated_options(10, "SPECS")
@family_options
@click.option(
    "--candidate",
    metavar="MODULE:FUNCTION",
    default=_HAND,
    show_default=True,
    help="Gradient function whose module is mutated; also path/to/file.py:function.",
)
@click.option(
    "--mutate",
    "modules",
    metavar="MODULE",
    multiple=True,
    help="Module to mutate, by import name (a package: each of its modules); repeatable. "
    "Default: the module that defines the candidate.",
)
@click.option(
    "--operators",
    type=_Names(OPERATORS),
    help=f"Mutation operators, e.g. arithmetic,sign (default: all: {','.join(OPERATORS)}).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Check at most N mutants, drawn at random with --seed.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Processes verifying mutants (default: the CPU count; 1: this process).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds per mutant; a mutant past it is killed (default: 10x the candidate's own "
    "verification, at least 60).",
)
@tolerance_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def mutate_command(
    specs: tuple[str, ...],
    examples: int,
    seed: int,
    family: Family | None,
    candidate: str,
    modules: tuple[str, ...],
    operators: list[str] | None,
    limit: int | None,
    jobs: int | None,
    timeout: float | None,
    rtol: float | None,
    atol: float | None,
    mode: str,
    as_json: bool,
) -> int:
    """Mutation score: plant faults in a gradient function's code, verify each mutant.

    Each mutant changes one expression of the candidate's module (an operator, a transpose,
    a sign, a constant, an axis, two arguments, a term, a condition) and is verified on SPECS
    (default: the built-in networks) plus --examples generated networks, as `gradcheck
    verify` would. It is killed when verification fails (or it raises, or every network is
    unsupported), equivalent when its gradients equal the original's on every network (to
    rounding), and survived otherwise. Score: killed / (mutants - equivalent). The mutants
    are compiled from strings; no file is written.
    """
    from gradcheck.checking.mutation import mutation_score
    from gradcheck.generate.strategies import sample_networks
    from gradcheck.spec import builtin_networks_dir, load_specs

    check_drawable(family, examples)
    _enable_x64()
    given = load_specs(list(specs) or [builtin_networks_dir()])
    # As verify does: a given network outside the family is not checked (nor used here).
    outside = {s.name: family.outside(s) for s in given} if family is not None else {}
    outside = {name: why for name, why in outside.items() if why}
    networks = [(s, s.initial_params(), s.inputs(), s.targets()) for s in given]
    networks = [n for n in networks if n[0].name not in outside]
    networks += sample_networks(examples, seed, family=family) if examples else []
    progress = _Progress() if sys.stderr.isatty() and not as_json else None
    report = mutation_score(
        candidate,
        networks,
        modules=modules,
        operators=operators or OPERATORS,
        limit=limit,
        seed=seed,
        jobs=jobs,
        timeout=timeout,
        rtol=rtol,
        atol=atol,
        mode=mode,
        progress=progress,
    )
    if progress is not None:
        click.echo("\r\033[K", nl=False, err=True)
    if as_json:
        outside_family = [{"name": n, "outside": why} for n, why in outside.items()]
        click.echo(json.dumps({**report.to_dict(), "outside_family": outside_family}))
        return 0 if report.ok else 1
    for name, why in outside.items():
        click.echo(
            f"{click.style('skip', fg='yellow')} {name}: outside the family: {'; '.join(why)}"
        )
    for status in ("survived", "equivalent"):
        for r in report.results:
            if r.status == status:
                _show(r)
    if n := report.count("equivalent"):
        click.echo(
            f"{n} mutant{'s' if n > 1 else ''} gave the original's gradients on every network "
            "checked: dead code, an identity, or a path these networks never take (more "
            "--examples, or a --family that reaches that path, may tell them apart); the score "
            "leaves them out"
        )
    click.echo(f"{candidate}: {report.summary()}")
    return 0 if report.ok else 1


def _show(result: MutantResult) -> None:
    """One line naming the mutant (file:line, operator, change), its diff, and for a survivor
    why it survived."""
    m = result.mutant
    if result.status == "survived":
        mark = click.style("SURVIVED  ", fg="red", bold=True)
    else:
        mark = click.style("equivalent", fg="yellow")
    click.echo(f"{mark} {m.path}:{m.line} {m.operator}: {m.description}")
    for line in m.changed_lines():
        click.echo(f"     {line}")
    if result.status == "survived" or not result.reached:
        click.echo(f"     {result.reason}")


class _Progress:
    """``12 mutants checked`` on stderr, rewritten in place (a terminal only)."""

    def __init__(self) -> None:
        self.done = 0

    def __call__(self, result: MutantResult) -> None:
        self.done += 1
        click.echo(f"\r{self.done} mutants checked", nl=False, err=True)
