"""The ``gradcheck`` command line: the only module that prints or exits.

Exit status: 0 all good, 1 a check disagreed, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import json
import sys

import click

from gradcheck.layers import GRADIENT_DESCENT, UPDATE_RULES
from gradcheck.spec import GradcheckError, spec_json_schema


def _enable_x64() -> None:
    """The CLI verifies in float64: switch JAX to 64-bit for this process only."""
    import jax

    jax.config.update("jax_enable_x64", True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gradcheck")
def app() -> None:
    """Prove hand-derived backpropagation right or wrong."""


@app.command()
def schema() -> int:
    """Print the JSON Schema of a network spec (TOML file) as JSON."""
    click.echo(json.dumps(spec_json_schema(), indent=2))
    return 0


# Each command below returns its exit status (0 ok, 1 disagreement); bad input raises a
# GradcheckError, which main() turns into one line and status 2.

# --- golden (issue 2) -----------------------------------------------------------------------


@app.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of records instead.")
def golden(specs: tuple[str, ...], as_json: bool) -> int:
    """Recompute every number a network's document prints and judge it.

    SPECS are TOML files or folders (default: the built-in networks with documented values).
    Each value gets match, match-truncated or discrepancy (with its cause). Exit status 0 once
    every value has a verdict: discrepancies are findings about the document, not failures.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from gradcheck.golden.judging import GoldenRecord, check_spec, verdict_counts
    from gradcheck.spec import builtin_networks_dir, load_specs

    loaded = load_specs(list(specs) or [builtin_networks_dir()])
    checked = [s for s in loaded if s.documented]
    if not checked:
        paths = ", ".join(s.path for s in loaded) or ", ".join(specs)
        raise GradcheckError(f"{paths}: no [[documented]] values to check")
    records = [r for s in checked for r in check_spec(s)]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return 0

    def row(r: GoldenRecord) -> tuple[str, ...]:
        colour = {"match": "green", "match-truncated": "yellow", "discrepancy": "red"}[r.verdict]
        where = f"\n[dim]{escape(r.where)}[/]" if r.where else ""
        computed = f"{r.computed:.{r.digits + 3}f}"
        verdict = f"[{colour}]{r.verdict}[/]"
        return escape(r.quantity) + where, escape(r.documented), computed, verdict, escape(r.cause)

    console, counts = Console(), verdict_counts(records)
    for network in counts:
        table = Table(title=network, title_justify="left")
        for column in ("quantity", "printed", "computed", "verdict", "cause"):
            table.add_column(column, no_wrap=column != "cause" and column != "quantity")
        for r in records:
            if r.network == network:
                table.add_row(*row(r))
        console.print(table)
    for network, by_verdict in counts.items():
        console.print(f"{escape(network)}: " + ", ".join(f"{n} {v}" for v, n in by_verdict.items()))
    return 0


# --- verify (issue 3) -----------------------------------------------------------------------
# A candidate that raises on a network fails that network (naming the exception), not the run.


@app.command("verify")
@click.argument("specs", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Generated networks checked besides SPECS (0: none).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of those networks.",
)
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
    generated networks. Exit status 0 when every network verifies, 1 when any disagrees.
    """
    import functools

    from gradcheck.checking.candidates import CANDIDATE_FAILURES, load_candidate
    from gradcheck.checking.junit import write_junit_xml
    from gradcheck.checking.tolerances import TOLERANCES
    from gradcheck.checking.verification import verify
    from gradcheck.generate.strategies import sample_networks
    from gradcheck.hand import hand_grads
    from gradcheck.spec import builtin_networks_dir, load_specs

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
    failed = sum(not v.ok for v in verdicts)
    who = "hand-derived backprop" if candidate is None else candidate
    click.echo(
        f"{who}: {len(verdicts) - failed} of {len(verdicts)} networks verified"
        + (f", {failed} FAILED" if failed else "")
    )
    return 0 if ok else 1


# --- train (issue 5) ------------------------------------------------------------------------
_TRAIN_CHOICES = {
    "backend": ("jax", "numpy"),
    "device": ("auto", "cpu", "gpu"),
    "optimizer": ("sgd", "momentum", "adam"),
    "rule": tuple(UPDATE_RULES),
}  # kept equal to gradcheck.training.runner's tuples by tests/test_train.py; listed here so that
# `gradcheck -h` does not import JAX
_PROGRESS_WORK = 10**8  # steps x samples x parameters above which a TTY gets a progress bar
_SAMPLES_SHOWN = 10  # outputs printed per run; --json has them all


def _default_cache_dir() -> str:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gradcheck", "xla")


@app.command("train")
@click.argument("spec_path", metavar="SPEC")
@click.option("--steps", type=click.IntRange(min=1), required=True, help="Training steps.")
@click.option("--backend", type=click.Choice(_TRAIN_CHOICES["backend"]), default="jax")
@click.option("--device", type=click.Choice(_TRAIN_CHOICES["device"]), default="auto")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), help="Default: the spec's.")
@click.option("--optimizer", type=click.Choice(_TRAIN_CHOICES["optimizer"]), default="sgd")
@click.option(
    "--rule",
    type=click.Choice(_TRAIN_CHOICES["rule"]),
    default=GRADIENT_DESCENT,
    help="output-first: update layers from the output down, each delta from updated weights.",
)
@click.option("--learning-rate", type=float, help="Default: the spec's.")
@click.option("--data-parallel", is_flag=True, help="Shard the samples across all devices.")
@click.option(
    "--record-every",
    type=click.IntRange(min=1),
    help="Record the loss every N steps (default: about 500 points).",
)
@click.option("--cache-dir", help="XLA compilation cache (default ~/.cache/gradcheck/xla).")
@click.option("--no-cache", is_flag=True, help="Do not use the persistent compilation cache.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def train_command(
    spec_path: str,
    steps: int,
    backend: str,
    device: str,
    dtype: str | None,
    optimizer: str,
    rule: str,
    learning_rate: float | None,
    data_parallel: bool,
    record_every: int | None,
    cache_dir: str | None,
    no_cache: bool,
    as_json: bool,
) -> int:
    """Train SPEC for --steps full-batch steps (JAX: one compiled scan; or the NumPy loop)."""
    import functools

    from gradcheck.spec import load_spec
    from gradcheck.training.runner import TrainResult, enable_compilation_cache, train

    spec = load_spec(spec_path)
    if backend == "jax" and not no_cache:
        enable_compilation_cache(cache_dir or _default_cache_dir())
    every = record_every or max(1, steps // 500)
    work = steps * len(spec.model.samples) * spec.n_params
    show_progress = sys.stderr.isatty() and not as_json and work >= _PROGRESS_WORK
    run = functools.partial(
        train,
        spec,
        steps,
        backend=backend,
        optimizer=optimizer,
        rule=rule,
        learning_rate=learning_rate,
        dtype=dtype,
        device=device,
        data_parallel=data_parallel,
        record_every=every,
    )
    if show_progress and backend == "jax":
        from rich.console import Console
        from rich.progress import Progress

        with Progress(transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task(f"training {spec.name}", total=steps)
            result = run(chunks=10, on_progress=lambda done: bar.update(task, completed=done))
    else:
        result = run()
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return 0

    def show(result: TrainResult) -> None:
        """Final loss, the outputs per sample, and the speed, for a person."""
        spec = result.spec
        last = len(spec.sizes) - 1
        names = {j: n for n, (layer, j) in spec.unit_names.items() if layer == last}
        click.echo(
            f"{spec.name}: {result.steps} steps, {result.optimizer} ({result.rule}), "
            f"lr {spec.learning_rate:g}, {spec.model.dtype}, {result.backend} on {result.device}"
        )
        click.echo(f"final loss ({spec.loss}): {result.loss:.9g}")
        for s, row in enumerate(result.outputs[:_SAMPLES_SHOWN]):
            shown = ", ".join(f"{names.get(j, f'out[{j}]')} = {v:.9f}" for j, v in enumerate(row))
            click.echo(f"sample {s + 1}: {shown}")
        if len(result.outputs) > _SAMPLES_SHOWN:
            click.echo(f"... {len(result.outputs) - _SAMPLES_SHOWN} more samples (see --json)")
        speed = result.steps_per_second
        rate = "n/a" if speed == float("inf") else f"{speed:,.0f} steps/s"
        click.echo(f"speed: {rate} ({result.seconds * 1e3:.2f} ms running, ", nl=False)
        click.echo(f"{result.compile_seconds * 1e3:.0f} ms tracing and compiling)")

    show(result)
    return 0


# --- report (issue 4) -----------------------------------------------------------------------
_REPORT_EXAMPLES = 100  # generated networks by default; the whole report then takes ~15 s


@app.command("report")
@click.option("--out", default="reports", show_default=True, help="Folder for index.html + JSON.")
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=_REPORT_EXAMPLES,
    show_default=True,
    help="Generated networks to verify.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
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


def _error_line(message: str) -> None:
    """Bad input is reported as exactly one line on stderr."""
    click.echo("gradcheck: error: " + " ".join(message.split()), err=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: project errors and usage errors become one line on stderr and exit
    status 2; a command's returned int is the exit status."""
    try:
        status = app.main(args=argv, prog_name="gradcheck", standalone_mode=False)
    except GradcheckError as exc:
        _error_line(str(exc))
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        no_args_help = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2
        if isinstance(exc, no_args_help):
            click.echo(exc.format_message(), err=True)  # bare `gradcheck`: the help text
        elif isinstance(exc, click.UsageError) and exc.ctx is not None:
            _error_line(f"{exc.format_message().rstrip('.')} (see '{exc.ctx.command_path} -h')")
        else:
            _error_line(exc.format_message())
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("gradcheck: aborted", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
