"""Run every check for the report and collect the records.

:func:`collect` runs the golden cases, verifies the user's networks (or, when none are given,
the built-in ones) and ``n`` generated networks (shrinking a counterexample with Hypothesis if one
fails), trains the seed networks with JAX and NumPy (their agreement judged by
:mod:`gradcheck.checking.training_agreement`), and reads the environment. It returns plain
JSON-able data (:class:`~gradcheck.report.data.ReportData`);
:mod:`gradcheck.report.render` only renders it.
"""

from __future__ import annotations

import datetime
import functools
import importlib.metadata
import math
import platform
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import jax

from gradcheck.checking.candidates import CANDIDATE_FAILURES
from gradcheck.checking.parallel import verify_drawn
from gradcheck.checking.replays import reproduce_options
from gradcheck.checking.tolerances import tolerance_for
from gradcheck.checking.training_agreement import judge_training
from gradcheck.checking.verdict import NetworkVerdict
from gradcheck.checking.verification import verify, within
from gradcheck.generate.strategies import Case, sample_networks
from gradcheck.golden.judging import Quantity, check_spec, judge, parse_quantity
from gradcheck.hand import hand_grads
from gradcheck.layers import GRADIENT_DESCENT, OUTPUT_FIRST
from gradcheck.report.data import (
    SCHEMA,
    GoldenNetwork,
    Record,
    ReportData,
    network_sketch,
    report_subject,
    summary_counts,
)
from gradcheck.report.grouping import cause_groups
from gradcheck.search.networks import smallest_failure
from gradcheck.spec import Array, GradientFn, Params, Spec, builtin_networks_dir, load_specs
from gradcheck.spec.family import Family
from gradcheck.training.runner import TrainResult, train

__all__ = ["collect"]

_REPORT_DTYPES = ("float64", "float32")  # generated networks come in both, each judged by its own
_CURVE_STEPS = 1000  # a seed network's loss curve runs at least this many steps
_CURVE_POINTS = 1000  # loss values kept per curve in report.json (the plot thins further)


def collect(
    examples: int,
    seed: int,
    command: str,
    start: float,
    *,
    specs: Sequence[Spec] = (),
    candidate: GradientFn = hand_grads,
    candidate_ref: str | None = None,
    family: Family | None = None,
    jobs: int = 1,
) -> ReportData:
    """Every record the report shows, from golden, verify, strategies and train: ``specs`` (the
    user's networks, loaded by the caller; none: the built-in networks) and ``examples``
    generated networks checked with ``candidate`` (loaded from ``candidate_ref``; default
    gradcheck's hand-derived backprop), drawn from ``family`` if given (a given network outside
    it is unsupported, not checked) and verified in ``jobs`` processes (0: one per CPU;
    :func:`~gradcheck.checking.parallel.verify_drawn`), the user's networks that carry a
    document's values judged first, the seed documents judged and trained, and the public
    tutorials of ``networks/documents/`` judged."""

    drawn = {"family": family} if family else {"dtypes": _REPORT_DTYPES}
    draw = functools.partial(sample_networks, seed=seed, **drawn)
    pending = verify_drawn(  # worker processes start now, beside the checks below
        candidate, draw, examples, jobs=jobs, reference=candidate_ref, catch=CANDIDATE_FAILURES
    )
    try:
        builtin = load_specs([builtin_networks_dir()])
        documented = [s for s in builtin if s.documented]
        own = [GoldenNetwork(**_golden_network(s), yours=True) for s in specs if s.documented]
        golden = own + [_golden_network(s) for s in (*documented, *_public_documents())]
        check = functools.partial(_verify, candidate)
        gradients = [within(family, check, s).to_dict() for s in (specs or builtin)]
    except BaseException:
        pending.cancel()
        raise
    cases = sample_networks(examples, seed, **drawn) if examples else []  # as workers drew
    properties = _generated_record(candidate, cases, pending.result(), seed, drawn)
    properties["reproduce_options"] = reproduce_options(candidate_ref)  # after a saved replay
    training = [_training_record(s) for s in documented]
    environment = _environment_record(seed, command, start)
    environment["candidate"] = candidate_ref or "gradcheck.hand.backprop:hand_grads"
    summary = summary_counts(golden, gradients, properties, training)
    return ReportData(
        schema=SCHEMA,
        subject=report_subject([s.path for s in specs], candidate_ref, summary, bool(own)),
        summary=summary,
        golden=golden,
        gradients=gradients,
        properties=properties,
        training=training,
        environment=environment,
    )


def _public_documents() -> list[Spec]:
    """The public tutorials' networks beside the built-in ones (``networks/documents/``): judged
    with the seeds' golden cases; they show no long training run to compare."""
    folder = builtin_networks_dir() / "documents"
    return load_specs([folder]) if folder.is_dir() else []


def _golden_network(spec: Spec) -> GoldenNetwork:
    """A document's golden records, built once, and their grouping by root cause."""
    records: list[Record] = [r.to_dict() for r in check_spec(spec)]
    return GoldenNetwork(
        network=spec.name,
        source=spec.model.source,
        sketch=network_sketch(spec),
        records=records,
        causes=cause_groups(records),
    )


def _generated_record(
    candidate: GradientFn,
    cases: Sequence[Case],
    verdicts: Sequence[NetworkVerdict],
    seed: int,
    drawn: dict[str, Any],
) -> dict[str, Any]:
    """Sampled networks (``sample_networks(len(cases), seed, **drawn)``) and their verdicts:
    architectures, largest relative error per oracle and network, the network closest to its
    tolerance, and a shrunk counterexample if one fails."""
    rows: list[dict[str, Any]] = []
    errors: dict[str, list[float]] = {
        f"{oracle} {dtype}": [] for oracle in ("JAX", "FD") for dtype in _REPORT_DTYPES
    }
    worst: tuple[float, dict[str, Any]] = (-1.0, {})
    for k, (case, verdict) in enumerate(zip(cases, verdicts, strict=True)):
        dtype = case.spec.model.dtype
        # relative error means nothing for a gradient that is zero within tolerance
        rel_jax = _largest(e.rel_error_jax for e in verdict.entries if abs(e.jax) > e.tol_jax)
        rel_fd = _largest(e.rel_error_fd for e in verdict.entries if abs(e.fd) > e.tol_fd)
        if not verdict.unsupported:  # unchecked: no error to count, not even an exact 0
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
                "unsupported": verdict.unsupported or None,  # why the candidate did not check it
                "nothing_to_check": verdict.nothing_to_check,  # every group frozen: counted apart
                "summary": verdict.summary(),
                "rel_error_jax": rel_jax,
                "rel_error_fd": rel_fd,
                # a failing network's spec, saved by write_report beside the page
                **({} if verdict.ok else {"replay": case.replay()}),
            }
        )
        for e in verdict.entries:
            for oracle, value, err, tol, rel in (
                ("JAX", e.jax, e.abs_error_jax, e.tol_jax, e.rel_error_jax),
                ("finite differences", e.fd, e.abs_error_fd, e.tol_fd, e.rel_error_fd),
            ):
                ratio = err / tol if tol > 0 else (math.inf if err > 0 else 0.0)
                if ratio > worst[0]:
                    worst = (
                        ratio,
                        {
                            "index": k,
                            "network": case.describe(),
                            "oracle": oracle,
                            "parameter": e.label,
                            "value": e.hand,  # the gradient under test's
                            "oracle_value": value,
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
        "parameters": Counter(_param_count_bucket(c.spec.n_params) for c in cases),
    }
    failing = [c for c, row in zip(cases, rows, strict=True) if not row["ok"]]
    return {
        "count": len(cases),
        "seed": seed,
        "architectures": {
            k: sorted(v.items(), key=lambda kv: _sort_key(k, kv[0])) for k, v in tables.items()
        },
        "errors": errors,
        "tolerances": {f"JAX {d}": tolerance_for(d).rtol for d in _REPORT_DTYPES},
        "networks": rows,
        "worst": worst[1] or None,
        "counterexample": _counterexample(candidate, failing, drawn) if failing else None,
    }


def _verify(
    candidate: GradientFn,
    spec: Spec,
    params: Params | None = None,
    inputs: Array | None = None,
    targets: Array | None = None,
) -> NetworkVerdict:
    """:func:`~gradcheck.verify`, where a candidate that raises fails the network."""
    return verify(candidate, spec, params, inputs, targets, catch=CANDIDATE_FAILURES)


def _largest(values: Iterable[float]) -> float:
    """The largest finite-or-infinite value, NaN (0/0: both sides exactly 0) left out."""

    return max((v for v in values if not math.isnan(v)), default=0.0)


_PARAM_BUCKETS = ("1-10", "11-30", "31-100", "101-300", "> 300")


def _sort_key(table: str, value: str) -> tuple[int, str]:
    """Parameter buckets in size order, everything else alphabetically."""
    return (_PARAM_BUCKETS.index(value), "") if table == "parameters" else (0, value)


def _param_count_bucket(n_params: int) -> str:
    """Which of :data:`_PARAM_BUCKETS` a parameter count falls in."""
    return _PARAM_BUCKETS[sum(n_params > edge for edge in (10, 30, 100, 300))]


def _counterexample(
    candidate: GradientFn, failing: Sequence[Case], drawn: dict[str, Any]
) -> dict[str, Any]:
    """Hypothesis's shrunk failing network for ``candidate`` (drawn as the sample was), or the
    smallest sampled failure (:func:`~gradcheck.search.networks.smallest_failure`)."""
    found = smallest_failure(candidate, failing, drawn)
    return {**found.to_dict(), "replay": found.case.replay()}


def _training_record(spec: Spec) -> dict[str, Any]:
    """The seed network trained by JAX and by the NumPy loop, checked against each other
    (:func:`~gradcheck.checking.training_agreement.judge_training`) and against the document's
    values after training."""

    last = len(spec.sizes) - 1
    wanted = [(d, parse_quantity(spec, d.quantity)) for d in spec.documented]
    after = [
        (d, q)
        for d, q in wanted
        if q.step >= 1 and (q.kind == "loss" or (q.kind == "out" and q.units[0][0] == last))
    ]
    steps = max([_CURVE_STEPS, *(q.step for _, q in after)])
    every = max(1, steps // _CURVE_POINTS)
    runs: dict[tuple[str, str, int], TrainResult] = {}

    def run(backend: str, rule: str, n: int) -> TrainResult:
        if (backend, rule, n) not in runs:
            runs[backend, rule, n] = train(
                spec, n, backend=backend, rule=rule, record_every=every if n == steps else n
            )
        return runs[backend, rule, n]

    jax_run = run("jax", GRADIENT_DESCENT, steps)
    numpy_run = run("numpy", GRADIENT_DESCENT, steps)
    agreement = judge_training(
        spec.model.dtype,
        jax_losses=jax_run.loss_history,
        numpy_losses=numpy_run.loss_history,
        jax_params=jax_run.params,
        numpy_params=numpy_run.params,
    )
    finals = []
    for d, q in after:
        values = {
            name: _trained_value(q, run(backend, rule, q.step))
            for name, backend, rule in (
                ("jax", "jax", GRADIENT_DESCENT),
                ("numpy", "numpy", GRADIENT_DESCENT),
                ("output_first", "jax", OUTPUT_FIRST),
            )
        }
        finals.append(
            {
                "quantity": q.text,
                "where": d.where,
                "documented": d.printed,
                **values,
                "verdict": judge(d.printed, values["jax"]),
                "verdict_output_first": judge(d.printed, values["output_first"]),
            }
        )
    return {
        "network": spec.name,
        **agreement.to_dict(),
        "jax": jax_run.to_dict(),
        "numpy": numpy_run.to_dict(),
        "finals": finals,
    }


def _trained_value(q: Quantity, result: TrainResult) -> float:
    """A documented ``loss@N`` or ``out:<output unit>@N`` read from an N-step run."""
    if q.kind == "loss":
        return float(result.loss)
    return float(result.outputs[q.sample][q.units[0][1]])


def _environment_record(seed: int, command: str, start: float) -> dict[str, Any]:
    """Versions, device, seeds and the command that reproduces the report."""

    packages = ("gradcheck", "numpy", "jax", "jaxlib", "hypothesis", "optax", "jinja2")
    device = jax.devices()[0]
    kind = "" if device.device_kind.lower() == device.platform else f": {device.device_kind}"
    return {
        "versions": {
            "python": platform.python_version(),
            **{p: importlib.metadata.version(p) for p in packages},
        },
        "platform": platform.platform(),
        "device": f"{device.platform}{kind} (x{jax.device_count()})",  # "cpu (x1)", not "cpu: cpu"
        "seeds": {"generated networks": seed, "finite-difference directions": 0},
        "command": command,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "elapsed_s": time.perf_counter() - start,
    }
