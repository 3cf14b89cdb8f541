"""The ``verify`` command (issue 3): a gradient function (gradcheck's hand-derived backprop by
default, or a ``--candidate``) checked against JAX and finite differences on the built-in or
given networks plus generated ones, printed per network, as JSON, or as JUnit XML. A candidate
that raises on a network fails that network (naming the exception), not the run. A failing
generated network is saved as a spec file under ``--failures-dir`` (created only then), printed
with the command that reproduces the failure (:mod:`~gradcheck.checking.replays`).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

import click

from gradcheck.checking.replays import DEFAULT_FAILURES_DIR

if TYPE_CHECKING:
    from gradcheck.checking.verdict import NetworkVerdict
    from gradcheck.spec.family import Family
from gradcheck.cli import (
    _enable_x64,
    app,
    check_drawable,
    exit_statuses,
    family_options,
    generated_options,
    jobs_option,
    tolerance_options,
)


@app.command(
    "verify",
    epilog=exit_statuses(
        "every network verified (or unsupported)",
        "a network disagreed, or none was checked (or none of the --examples generated ones)",
    ),
)
@click.argument("specs", nargs=-1, type=click.Path(path_type=str))
@generated_options(10, "SPECS")
@family_options
@click.option(
    "--candidate",
    metavar="MODULE:FUNCTION",
    help="Gradient function to check, (spec, params, inputs, targets) -> grads; also "
    "path/to/file.py:function. Default: gradcheck's hand-derived backprop.",
)
@tolerance_options
@click.option(
    "--failures-dir",
    type=click.Path(file_okay=False, path_type=str),
    default=DEFAULT_FAILURES_DIR,
    show_default=True,
    help="Folder for each failing generated network's spec (created only when one fails).",
)
@jobs_option
@click.option(
    "--shrink/--no-shrink",
    default=True,
    show_default=True,
    help="Where generated networks fail, also search for the smallest failing network "
    "(Hypothesis draws like the sample and shrinks the first failure), saved beside them.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also write a JUnit XML file, one testcase per network.",
)
def verify_command(
    specs: tuple[str, ...],
    examples: int,
    seed: int,
    family: Family | None,
    candidate: str | None,
    rtol: float | None,
    atol: float | None,
    mode: str,
    failures_dir: str,
    jobs: int,
    shrink: bool,
    as_json: bool,
    junit_xml: str | None,
) -> int:
    """Check a gradient function against JAX and finite differences.

    SPECS are TOML files or folders (default: the built-in networks), plus --examples
    generated networks. Each generated network that fails is saved to FAILURES_DIR as
    <name>-seed<S>-case<I>.toml, printed with the command that checks it again, and the
    smallest failing network Hypothesis finds as <name>-seed<S>-shrunk.toml (--no-shrink: not
    searched).

    A --family (or --depth, --losses, ...) says what the candidate supports: generated
    networks are drawn from it, and a given network outside it is reported unsupported, not
    checked. A candidate may also raise gradcheck.Unsupported (or NotImplementedError) for a
    network it does not handle. Unsupported networks are counted apart, never failed.
    """
    from gradcheck.checking.batched import verify_specs
    from gradcheck.checking.candidates import CANDIDATE_FAILURES, load_candidate
    from gradcheck.checking.junit import prepare_junit_path, write_junit_xml
    from gradcheck.checking.parallel import verify_drawn
    from gradcheck.checking.replays import check_failures_dir, reproduce_options, save_replay
    from gradcheck.checking.tolerances import TOLERANCES
    from gradcheck.checking.verdict import tally
    from gradcheck.generate.strategies import Case, sample_networks
    from gradcheck.hand import hand_grads
    from gradcheck.search.networks import smallest_failure
    from gradcheck.spec import builtin_networks_dir, load_specs

    if junit_xml:
        prepare_junit_path(junit_xml)  # a bad path fails now, not after every check ran
    check_failures_dir(failures_dir)  # likewise; created only when a generated network fails
    check_drawable(family, examples)
    _enable_x64()
    fn = hand_grads if candidate is None else load_candidate(candidate)
    given_specs = load_specs(list(specs) or [builtin_networks_dir()])
    how = {"rtol": rtol, "atol": atol, "mode": mode, "catch": CANDIDATE_FAILURES}
    draw = functools.partial(sample_networks, seed=seed, family=family)
    pending = verify_drawn(fn, draw, examples, jobs=jobs, reference=candidate, **how)
    try:  # the given networks verified here while the worker processes start
        verdicts = verify_specs(fn, given_specs, family, **how)  # JAX batched per shape bucket
    except BaseException:
        pending.cancel()
        raise
    given = len(verdicts)
    verdicts += pending.result()
    options = reproduce_options(candidate, rtol=rtol, atol=atol, mode=mode)
    replays = {  # verdict position -> its saved spec, for the failing generated networks
        given + k: save_replay(v.spec, failures_dir, seed, k, options)
        for k, v in enumerate(verdicts[given:])
        if not v.ok and v.spec is not None
    }
    smallest = None
    if shrink and replays:
        specs_of = {k: verdicts[k].spec for k in replays}
        failing = {k: Case.from_spec(spec) for k, spec in specs_of.items() if spec is not None}
        drawn = {"family": family} if family else {}
        found = smallest_failure(fn, list(failing.values()), drawn, rtol=rtol, atol=atol, mode=mode)
        drawn_at = next((k for k, c in failing.items() if c is found.case), None)
        if drawn_at is None:
            shrunk_replay = save_replay(found.case.spec, failures_dir, seed, None, options)
        else:
            shrunk_replay = replays[drawn_at]
        smallest = (found, shrunk_replay)
    if junit_xml:
        write_junit_xml(verdicts, junit_xml, {k: r.lines() for k, r in replays.items()})
    unchecked = _none_checked(verdicts[given:])  # --examples asked for, none of them checked
    ok = all(v.ok for v in verdicts) and not _none_checked(verdicts) and not unchecked
    if as_json:
        tolerances = {dtype: t.to_dict() for dtype, t in TOLERANCES.items()}
        networks = [v.to_dict() for v in verdicts]
        for k, record in enumerate(networks[given:]):  # generated: where each was drawn
            replay = replays.get(given + k)
            record.update(replay.to_dict() if replay else _unsaved(seed, k))
        out = {"ok": ok, "tolerances": tolerances, "networks": networks}
        if smallest is not None:
            found, shrunk_replay = smallest
            out["smallest"] = {**found.to_dict(), **shrunk_replay.to_dict()}
        click.echo(json.dumps(out))
        return 0 if ok else 1
    for k, v in enumerate(verdicts):
        mark = click.style("ok  ", fg="green") if v.ok else click.style("FAIL", fg="red", bold=True)
        mark = click.style("skip", fg="yellow") if v.unsupported else mark
        click.echo(f"{mark} {v.summary(limit=0)}")
        saved = replays[k].lines() if k in replays else []
        for line in [*v.failure_lines(more=" (see --json)"), *saved]:
            click.echo(f"     {line}")
    who = "hand-derived backprop" if candidate is None else candidate
    click.echo(f"{who}: {tally(verdicts)}")
    if smallest is not None:
        found, shrunk_replay = smallest
        how_found = "shrunk by Hypothesis" if found.shrunk else "the search found none smaller"
        click.echo(f"smallest failing network ({how_found}): {found.case.describe()}")
        for line in [found.verdict.summary(limit=1), *shrunk_replay.lines()]:
            click.echo(f"     {line}")
    if _none_checked(verdicts):
        click.echo("FAIL nothing was checked: every network is unsupported")
    elif unchecked:
        n = len(verdicts) - given
        click.echo(
            f"FAIL no generated network was checked: all {n} were unsupported; say what the "
            "candidate supports (--family FILE, or --activations, --losses, --depth, ...) and "
            "networks are drawn inside it, or pass --examples 0"
        )
    return 0 if ok else 1


def _none_checked(verdicts: list[NetworkVerdict]) -> bool:
    """Every network unsupported: a run that checked nothing does not pass."""
    return bool(verdicts) and all(v.unsupported for v in verdicts)


def _unsaved(seed: int, index: int) -> dict[str, object]:
    """The ``--json`` replay fields of a generated network that verified: nothing saved."""
    return {"replay_path": None, "seed": seed, "index": index, "reproduce": None}
