"""The ``verify`` command (issue 3): a gradient function (gradcheck's hand-derived backprop by
default, or a ``--candidate``) checked against JAX and finite differences on the built-in or
given networks plus generated ones, printed per network, as JSON, or as JUnit XML. A candidate
that raises on a network fails that network (naming the exception), not the run.
"""

from __future__ import annotations

import json

import click

from gradcheck.cli import _enable_x64, app, exit_statuses, generated_options


@app.command("verify", epilog=exit_statuses("every network verified", "a network disagreed"))
@click.argument("specs", nargs=-1, type=click.Path(path_type=str))
@generated_options(10, "SPECS")
@click.option(
    "--candidate",
    metavar="MODULE:FUNCTION",
    help="Gradient function to check, (spec, params, inputs, targets) -> grads; also "
    "path/to/file.py:function. Default: gradcheck's hand-derived backprop.",
)
@click.option("--rtol", type=float, help="Override the dtype's relative tolerance.")
@click.option("--atol", type=float, help="Override the dtype's absolute tolerance.")
@click.option(
    "--mode",
    type=click.Choice(["auto", "entries", "projection"]),
    default="auto",
    show_default=True,
    help="Per-entry finite differences, or random directions (auto: above 1000 parameters).",
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
    candidate: str | None,
    rtol: float | None,
    atol: float | None,
    mode: str,
    as_json: bool,
    junit_xml: str | None,
) -> int:
    """Check a gradient function against JAX and finite differences.

    SPECS are TOML files or folders (default: the built-in networks), plus --examples
    generated networks.
    """
    import functools

    from gradcheck.checking.candidates import CANDIDATE_FAILURES, load_candidate
    from gradcheck.checking.junit import prepare_junit_path, write_junit_xml
    from gradcheck.checking.tolerances import TOLERANCES
    from gradcheck.checking.verdict import tally
    from gradcheck.checking.verification import verify
    from gradcheck.generate.strategies import sample_networks
    from gradcheck.hand import hand_grads
    from gradcheck.spec import builtin_networks_dir, load_specs

    if junit_xml:
        prepare_junit_path(junit_xml)  # a bad path fails now, not after every check ran
    _enable_x64()
    fn = hand_grads if candidate is None else load_candidate(candidate)
    check = functools.partial(verify, fn, rtol=rtol, atol=atol, mode=mode, catch=CANDIDATE_FAILURES)
    verdicts = [check(spec) for spec in load_specs(list(specs) or [builtin_networks_dir()])]
    verdicts += [check(*case) for case in sample_networks(examples, seed)]
    if junit_xml:
        write_junit_xml(verdicts, junit_xml)
    ok = all(v.ok for v in verdicts)
    if as_json:
        tolerances = {dtype: t.to_dict() for dtype, t in TOLERANCES.items()}
        networks = [v.to_dict() for v in verdicts]
        click.echo(json.dumps({"ok": ok, "tolerances": tolerances, "networks": networks}))
        return 0 if ok else 1
    for v in verdicts:
        mark = click.style("ok  ", fg="green") if v.ok else click.style("FAIL", fg="red", bold=True)
        click.echo(f"{mark} {v.summary(limit=0)}")
        for line in v.failure_lines(more=" (see --json)"):
            click.echo(f"     {line}")
    who = "hand-derived backprop" if candidate is None else candidate
    click.echo(f"{who}: {tally(verdicts)}")
    return 0 if ok else 1
