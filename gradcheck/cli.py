"""The ``gradcheck`` command line: the only module that prints or exits.

Exit status: 0 all good, 1 a check disagreed, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import json
import sys

import click

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

    from gradcheck.golden import GoldenRecord, check_spec, summarize
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

    console, counts = Console(), summarize(records)
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
# A candidate that does not support a generated network fails that network instead of the run.
_CANDIDATE_ERRORS = (
    ArithmeticError,
    AttributeError,
    LookupError,
    NotImplementedError,
    TypeError,
    ValueError,
)
_ENTRIES_SHOWN = 12  # failing entries printed per network; --json has them all


@app.command("verify")
@click.argument("specs", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Generated networks checked besides SPECS (0: none).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of those networks.")
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

    from gradcheck.backprop import hand_grads
    from gradcheck.compare import TOLERANCES
    from gradcheck.spec import builtin_networks_dir, load_specs
    from gradcheck.strategies import sample_networks
    from gradcheck.verify import load_candidate, verify, write_junit_xml

    _enable_x64()
    fn = hand_grads if candidate is None else load_candidate(candidate)
    check = functools.partial(verify, fn, rtol=rtol, atol=atol, mode=mode, catch=_CANDIDATE_ERRORS)
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
        for e in v.failures[:_ENTRIES_SHOWN]:
            click.echo(f"     {e.describe()}")
        if len(v.failures) > _ENTRIES_SHOWN:
            click.echo(f"     ... {len(v.failures) - _ENTRIES_SHOWN} more (see --json)")
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
    "rule": ("gradient", "sequential"),
}  # kept equal to gradcheck.train's tuples by tests/test_train.py; listed here so that
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
    default="gradient",
    help="sequential: update layers from the output down, each delta from updated weights.",
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
    from gradcheck.train import TrainResult, enable_compilation_cache, train

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
from typing import TYPE_CHECKING, Any  # noqa: E402  (this command's section of the module)

if TYPE_CHECKING:  # annotations only; importing these at run time would slow `gradcheck -h`
    from collections.abc import Iterable, Sequence

    from gradcheck.golden import Quantity
    from gradcheck.report import ReportData
    from gradcheck.spec import GradientFn, Spec
    from gradcheck.strategies import Case
    from gradcheck.train import TrainResult as _TrainResult

_REPORT_EXAMPLES = 100  # generated networks by default; the whole report then takes ~20 s
_REPORT_DTYPES = ("float64", "float32")  # generated networks come in both, each judged by its own
_CURVE_STEPS = 1000  # a seed network's loss curve runs at least this many steps
_CURVE_POINTS = 1000  # loss values kept per curve in report.json (the plot thins further)


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

    from gradcheck.report import write_report

    start = time.perf_counter()
    _enable_x64()
    command = ["gradcheck", "report", "--out", out, "--examples", str(examples), "--seed"]
    command += [str(seed), *(["--candidate", candidate] if candidate else [])]
    data = _report_data(examples, seed, candidate, shlex.join(command), start)
    html_path, json_path = write_report(data, out)
    summary = data["summary"]
    verdict = "all verified" if summary["ok"] else f"{summary['failures']} failures"
    click.echo(
        f"{verdict}: wrote {html_path} ({html_path.stat().st_size / 1024:.0f} KiB) and "
        f"{json_path} in {time.perf_counter() - start:.1f} s"
    )
    return 0 if summary["ok"] else 1


def _report_data(
    examples: int, seed: int, candidate_ref: str | None, command: str, start: float
) -> ReportData:
    """Every record the report shows, from golden, verify, strategies and train."""
    from gradcheck.backprop import hand_grads
    from gradcheck.golden import check_spec
    from gradcheck.report import SCHEMA, GoldenNetwork, ReportData, network_sketch, summarize
    from gradcheck.spec import builtin_networks_dir, load_specs
    from gradcheck.verify import load_candidate, verify

    candidate = load_candidate(candidate_ref) if candidate_ref else hand_grads
    specs = load_specs([builtin_networks_dir()])
    documented = [s for s in specs if s.documented]
    golden = [
        GoldenNetwork(
            network=s.name,
            source=s.model.source,
            sketch=network_sketch(s),
            records=[r.to_dict() for r in check_spec(s)],
        )
        for s in documented
    ]
    gradients = [verify(candidate, s).to_dict() for s in specs]
    properties = _generated_record(candidate, examples, seed)
    training = [_training_record(s) for s in documented]
    environment = _environment_record(seed, command, start)
    environment["candidate"] = candidate_ref or "gradcheck.backprop:hand_grads"
    return ReportData(
        schema=SCHEMA,
        summary=summarize(golden, gradients, properties, training),
        golden=golden,
        gradients=gradients,
        properties=properties,
        training=training,
        environment=environment,
    )


def _generated_record(candidate: GradientFn, n: int, seed: int) -> dict[str, Any]:
    """``n`` sampled networks verified: architectures, largest relative error per oracle and
    network, the network closest to its tolerance, and a shrunk counterexample if one fails."""
    from collections import Counter

    from gradcheck.compare import tolerance_for
    from gradcheck.strategies import sample_networks
    from gradcheck.verify import verify

    cases = sample_networks(n, seed, dtypes=_REPORT_DTYPES)
    rows: list[dict[str, Any]] = []
    errors: dict[str, list[float]] = {
        f"{oracle} {dtype}": [] for oracle in ("JAX", "FD") for dtype in _REPORT_DTYPES
    }
    worst: tuple[float, dict[str, Any]] = (-1.0, {})
    for k, case in enumerate(cases):
        verdict, dtype = verify(candidate, *case), case.spec.model.dtype
        # relative error means nothing for a gradient that is zero within tolerance
        rel_jax = _largest(e.rel_error_jax for e in verdict.entries if abs(e.jax) > e.tol_jax)
        rel_fd = _largest(e.rel_error_fd for e in verdict.entries if abs(e.fd) > e.tol_fd)
        errors[f"JAX {dtype}"].append(rel_jax)
        errors[f"FD {dtype}"].append(rel_fd)
        rows.append(
            {
                "index": k,
                "name": case.spec.name,
                "description": case.describe(),
                "dtype": dtype,
                "n_params": case.spec.n_params,
                "ok": verdict.ok,
                "summary": verdict.summary(),
                "rel_error_jax": rel_jax,
                "rel_error_fd": rel_fd,
            }
        )
        for e in verdict.entries:
            for oracle, err, tol, rel in (
                ("JAX", e.abs_error_jax, e.tol_jax, e.rel_error_jax),
                ("finite differences", e.abs_error_fd, e.tol_fd, e.rel_error_fd),
            ):
                if err / tol > worst[0]:
                    worst = (
                        err / tol,
                        {
                            "index": k,
                            "network": case.describe(),
                            "oracle": oracle,
                            "parameter": e.label,
                            "error": rel,
                            "abs_error": err,
                            "allowed": tol,
                            "replay": case.replay(),
                        },
                    )
    tables: dict[str, Counter[str]] = {
        "layers": Counter(str(len(c.spec.sizes) - 1) for c in cases),
        "activation (layers)": Counter(a for c in cases for a in c.spec.activations),
        "loss": Counter(c.spec.loss for c in cases),
        "bias": Counter(b for c in cases for b in c.spec.bias_modes),
        "dtype": Counter(c.spec.model.dtype for c in cases),
        "parameters": Counter(_bucket(c.spec.n_params) for c in cases),
    }
    failing = [c for c, row in zip(cases, rows, strict=True) if not row["ok"]]
    return {
        "count": n,
        "seed": seed,
        "architectures": {
            k: sorted(v.items(), key=lambda kv: _sort_key(k, kv[0])) for k, v in tables.items()
        },
        "errors": errors,
        "tolerances": {f"JAX {d}": tolerance_for(d).rtol for d in _REPORT_DTYPES},
        "networks": rows,
        "worst": worst[1] or None,
        "counterexample": _counterexample(candidate, failing) if failing else None,
    }


def _largest(values: Iterable[float]) -> float:
    """The largest finite-or-infinite value, NaN (0/0: both sides exactly 0) left out."""
    import math

    return max((v for v in values if not math.isnan(v)), default=0.0)


_PARAM_BUCKETS = ("1-10", "11-30", "31-100", "101-300", "> 300")


def _sort_key(table: str, value: str) -> tuple[int, str]:
    """Parameter buckets in size order, everything else alphabetically."""
    return (_PARAM_BUCKETS.index(value), "") if table == "parameters" else (0, value)


def _bucket(n_params: int) -> str:
    """Which of :data:`_PARAM_BUCKETS` a parameter count falls in."""
    return _PARAM_BUCKETS[sum(n_params > edge for edge in (10, 30, 100, 300))]


def _counterexample(candidate: GradientFn, failing: Sequence[Case]) -> dict[str, Any]:
    """Hypothesis's shrunk failing network for ``candidate``; the smallest sampled failure when
    a search of 200 examples finds none."""
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import NoSuchExample

    from gradcheck.strategies import networks
    from gradcheck.verify import verify

    shrunk = True
    try:
        case = find(
            networks(dtypes=_REPORT_DTYPES),
            lambda c: not verify(candidate, *c).ok,
            settings=settings(
                max_examples=200,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    except NoSuchExample:
        case, shrunk = min(failing, key=lambda c: c.spec.n_params), False
    return {
        "network": case.describe(),
        "summary": verify(candidate, *case).summary(),
        "shrunk": shrunk,
        "replay": case.replay(),
    }


def _training_record(spec: Spec) -> dict[str, Any]:
    """The seed network trained by JAX and by the NumPy loop, checked against each other
    (compare's tolerance) and against the document's values after training."""
    import numpy as np

    from gradcheck.compare import tolerance_for
    from gradcheck.golden import judge, parse_quantity
    from gradcheck.train import train

    last = len(spec.sizes) - 1
    wanted = [(d, parse_quantity(spec, d.quantity)) for d in spec.documented]
    after = [
        (d, q)
        for d, q in wanted
        if q.step >= 1 and (q.kind == "loss" or (q.kind == "out" and q.units[0][0] == last))
    ]
    steps = max([_CURVE_STEPS, *(q.step for _, q in after)])
    every = max(1, steps // _CURVE_POINTS)
    runs: dict[tuple[str, str, int], _TrainResult] = {}

    def run(backend: str, rule: str, n: int) -> _TrainResult:
        if (backend, rule, n) not in runs:
            runs[backend, rule, n] = train(
                spec, n, backend=backend, rule=rule, record_every=every if n == steps else n
            )
        return runs[backend, rule, n]

    jax_run, numpy_run = run("jax", "gradient", steps), run("numpy", "gradient", steps)
    tol = tolerance_for(spec.model.dtype)
    pairs = [(jax_run.loss_history, numpy_run.loss_history)] + [
        (jax_run.params[i][k], numpy_run.params[i][k])
        for i, group in enumerate(numpy_run.params)
        for k in group
    ]
    diffs = [np.abs(np.asarray(a) - np.asarray(b)) for a, b in pairs]
    agree = all(
        bool(np.all(d <= tol.atol + tol.rtol * np.abs(b)))
        for d, (_, b) in zip(diffs, pairs, strict=True)
    )
    finals = []
    for d, q in after:
        values = {
            name: _trained_value(q, run(backend, rule, q.step))
            for name, backend, rule in (
                ("jax", "jax", "gradient"),
                ("numpy", "numpy", "gradient"),
                ("sequential", "jax", "sequential"),
            )
        }
        finals.append(
            {
                "quantity": q.text,
                "where": d.where,
                "documented": d.printed,
                **values,
                "verdict": judge(d.printed, values["jax"]),
                "verdict_sequential": judge(d.printed, values["sequential"]),
            }
        )
    return {
        "network": spec.name,
        "status": "agree" if agree else "disagree",
        "max_abs_diff": max(float(d.max(initial=0.0)) for d in diffs),
        "tolerance": tol.to_dict(),
        "jax": jax_run.to_dict(),
        "numpy": numpy_run.to_dict(),
        "finals": finals,
    }


def _trained_value(q: Quantity, result: _TrainResult) -> float:
    """A documented ``loss@N`` or ``out:<output unit>@N`` read from an N-step run."""
    if q.kind == "loss":
        return float(result.loss)
    return float(result.outputs[q.sample][q.units[0][1]])


def _environment_record(seed: int, command: str, start: float) -> dict[str, Any]:
    """Versions, device, seeds and the command that reproduces the report."""
    import datetime
    import importlib.metadata
    import platform
    import time

    import jax

    packages = ("gradcheck", "numpy", "jax", "jaxlib", "hypothesis", "optax", "jinja2")
    device = jax.devices()[0]
    return {
        "versions": {
            "python": platform.python_version(),
            **{p: importlib.metadata.version(p) for p in packages},
        },
        "platform": platform.platform(),
        "device": f"{device.platform}: {device.device_kind} (x{jax.device_count()})",
        "seeds": {"generated networks": seed, "finite-difference directions": 0},
        "command": command,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "elapsed_s": time.perf_counter() - start,
    }


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
