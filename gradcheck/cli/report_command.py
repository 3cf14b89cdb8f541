"""The ``report`` command (issues 4 and 11): run the golden cases, verify the user's networks (or
the built-in ones) and generated networks, train the seed networks, and write one
self-contained HTML page and its JSON twin. The user's specs and candidate are loaded as
``verify`` loads them, before any check runs, so bad input fails at once with one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gradcheck.cli import (
    _enable_x64,
    app,
    check_drawable,
    exit_statuses,
    family_options,
    generated_options,
    jobs_option,
)

if TYPE_CHECKING:
    from gradcheck.spec.family import Family

_REPORT_EXAMPLES = 100  # generated networks by default; the report takes ~50 s on 2 cores


@app.command(
    "report", epilog=exit_statuses("everything verified", "a check failed (the report says which)")
)
@click.argument("specs", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--out",
    type=click.Path(path_type=str),
    default="reports",
    show_default=True,
    help="Folder for index.html + JSON.",
)
@generated_options(_REPORT_EXAMPLES, "SPECS")
@family_options
@click.option(
    "--candidate",
    metavar="MODULE:FUNCTION",
    help="Check this gradient function (or file.py:function) instead of gradcheck's backprop.",
)
@jobs_option
def report_command(
    specs: tuple[str, ...],
    out: str,
    examples: int,
    seed: int,
    family: Family | None,
    candidate: str | None,
    jobs: int,
) -> int:
    """Write OUT/index.html (one self-contained page) and OUT/report.json.

    SPECS are TOML files or folders: your networks, checked first against JAX and finite
    differences, then N generated networks; the seed documents' golden cases and training
    follow, collapsed. Without SPECS or --candidate: the built-in networks, golden cases first.
    With --family (or --depth, --losses, ...) generated networks are drawn from it and a given
    network outside it is reported unsupported, not checked.
    """
    import shlex
    import time

    from gradcheck.checking.candidates import load_candidate
    from gradcheck.hand import hand_grads
    from gradcheck.report.render import make_out_dir, write_report
    from gradcheck.report.run import collect
    from gradcheck.spec import load_specs

    start = time.perf_counter()
    user_specs = load_specs(list(specs)) if specs else []  # a bad spec fails now, naming it
    _enable_x64()
    fn = hand_grads if candidate is None else load_candidate(candidate)
    check_drawable(family, examples)  # before the folder is made: a refused run leaves none
    make_out_dir(out)  # a bad --out fails now, not after the checks
    command = ["gradcheck", "report", *specs, "--out", out, "--examples", str(examples)]
    command += ["--seed", str(seed), *(["--candidate", candidate] if candidate else [])]
    command += list(family.arguments) if family else []
    data = collect(
        examples,
        seed,
        shlex.join(command),
        start,
        specs=user_specs,
        candidate=fn,
        candidate_ref=candidate,
        family=family,
        jobs=jobs,
    )
    html_path, json_path = write_report(data, out)
    summary = data["summary"]
    n = summary["failures"]
    where = ", ".join(f"{c['failed']} in {c['check']}" for c in summary["checks"] if c["failed"])
    verdict = "all verified" if summary["ok"] else f"{n} failure{'s' * (n != 1)} ({where})"
    if n == 0 and summary["unchecked"]:  # as verify: a run that checked nothing does not pass
        verdict = f"FAIL nothing checked in {' and '.join(summary['unchecked'])}: every "
        verdict += "network was unsupported (say what the candidate supports: --family, --kinds)"
    click.echo(
        f"{verdict}: wrote {html_path} ({html_path.stat().st_size / 1024:.0f} KiB) and "
        f"{json_path} in {time.perf_counter() - start:.1f} s"
    )
    return 0 if summary["ok"] else 1
