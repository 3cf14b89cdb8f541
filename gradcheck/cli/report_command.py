"""The ``report`` command (issue 4): run the golden cases, verify the built-in and generated
networks, train the seed networks, and write one self-contained HTML page and its JSON twin.
"""

from __future__ import annotations

import click

from gradcheck.cli import _enable_x64, app, exit_statuses, generated_options

_REPORT_EXAMPLES = 100  # generated networks by default; the whole report then takes ~15 s


@app.command(
    "report", epilog=exit_statuses("everything verified", "a check failed (the report says which)")
)
@click.option(
    "--out",
    type=click.Path(path_type=str),
    default="reports",
    show_default=True,
    help="Folder for index.html + JSON.",
)
@generated_options(_REPORT_EXAMPLES, "the built-in networks")
@click.option(
    "--candidate",
    metavar="MODULE:FUNCTION",
    help="Check this gradient function (or file.py:function) instead of gradcheck's backprop.",
)
def report_command(out: str, examples: int, seed: int, candidate: str | None) -> int:
    """Run the golden cases, verify the built-in and N generated networks, train the seed
    networks, and write OUT/index.html (one self-contained page) and OUT/report.json."""
    import shlex
    import time

    from gradcheck.report.render import make_out_dir, write_report
    from gradcheck.report.run import collect

    start = time.perf_counter()
    make_out_dir(out)  # a bad --out fails now, not after the checks
    _enable_x64()
    command = ["gradcheck", "report", "--out", out, "--examples", str(examples), "--seed"]
    command += [str(seed), *(["--candidate", candidate] if candidate else [])]
    data = collect(examples, seed, candidate, shlex.join(command), start)
    html_path, json_path = write_report(data, out)
    summary = data["summary"]
    verdict = "all verified" if summary["ok"] else f"{summary['failures']} failures"
    click.echo(
        f"{verdict}: wrote {html_path} ({html_path.stat().st_size / 1024:.0f} KiB) and "
        f"{json_path} in {time.perf_counter() - start:.1f} s"
    )
    return 0 if summary["ok"] else 1
