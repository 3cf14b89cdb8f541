"""Report data shaped as gradcheck.report.run.collect returns it, built without running a check:
what the page and ``report.json`` tests render (records shaped like golden, verdict and train's
``to_dict()``)."""

from __future__ import annotations

import math
from typing import Any

from helpers import seed_spec

from gradcheck.report import data as report_data
from gradcheck.report.grouping import cause_groups
from gradcheck.spec import Spec

# A TOML line far wider than any window: a replay's weights, printed in full.
LONG_WEIGHTS = "weights = [[" + ", ".join(f"{0.1 + k / 997:.16f}" for k in range(24)) + "]]"


def golden_network(
    spec: Spec, rows: list[tuple[str, str, float, str, str]]
) -> report_data.GoldenNetwork:
    """Records shaped like golden.GoldenRecord.to_dict()."""
    records = [
        {
            "network": spec.name,
            "quantity": quantity,
            "where": f"line {40 + k}: {quantity}",
            "documented": printed,
            "computed": computed,
            "verdict": verdict,
            "cause": cause,
            "digits": len(printed.split(".")[-1]),
            "finding": cause.split(":")[0] if cause else "",
            "rule": "",
            "alternative": None,
            "alternatives": {},
            "note": "",
        }
        for k, (quantity, printed, computed, verdict, cause) in enumerate(rows)
    ]
    return report_data.GoldenNetwork(
        network=spec.name,
        source=spec.model.source,
        sketch=report_data.network_sketch(spec),
        records=records,
        causes=cause_groups(records),
    )


def gradient_verdict(
    network: str,
    status: str = "ok",
    path: str = "networks/sigmoid_2_2_2.toml",
    zero_oracle: bool = False,
) -> dict[str, Any]:
    """Shaped like compare.NetworkVerdict.to_dict(), for the sigmoid seed network's w5 and w6;
    ``zero_oracle``: and w7, where JAX and finite differences give exactly 0, the hand 0.001."""
    entry = {
        "label": "w5",
        "layer": 1,
        "group": "W",
        "index": [0, 0],
        "kind": "entry",
        "hand": 0.0821670406,
        "jax": 0.0821670406,
        "fd": 0.0821670406,
        "fd_error_estimate": 2e-12,
        "step": 6.06e-6,
        "abs_error_jax": 0.0,
        "rel_error_jax": 0.0,
        "abs_error_fd": 6.0e-13,
        "rel_error_fd": 7.26e-12,
        "tol_jax": 8.32e-11,
        "tol_fd": 1.27e-9,
        "status": status,
        "location": "layer 2 W[0,0]",
    }
    zero = {
        **entry,
        "label": "w7",
        "hand": 1e-3,
        "jax": 0.0,
        "fd": 0.0,
        "abs_error_jax": 1e-3,
        "rel_error_jax": "inf",
        "abs_error_fd": 1e-3,
        "rel_error_fd": "inf",
        "tol_jax": 1e-12,
    }
    return {
        "name": network,
        "path": path,
        "ok": status == "ok",
        "dtype": "float64",
        "mode": "entries",
        "n_params": 8,
        "loss": 0.2983711088,
        "tolerance": {"rtol": 1e-9, "atol": 1e-12, "fd_safety": 4.0},
        "counts": {"ok": 1},
        "summary": f"{network}: verified",
        "notes": [],
        "entries": [
            entry,
            {**entry, "label": "w6", "abs_error_jax": "nan", "status": status},
            *([zero] if zero_oracle else []),
        ],
    }


def train_result(network: str, backend: str) -> dict[str, Any]:
    """Shaped like train.TrainResult.to_dict() for 10000 steps recorded every 10."""
    loss = [0.298371109 * math.exp(-k / 40.0) + 3.5e-5 for k in range(1000)]
    return {
        "network": network,
        "backend": backend,
        "device": "cpu:0",
        "n_devices": 1,
        "dtype": "float64",
        "optimizer": "sgd",
        "rule": "gradient-descent",
        "learning_rate": 0.5,
        "steps": 10000,
        "loss": 3.510187783e-05,
        "outputs": [[0.01591362044, 0.9840642735]],
        "params": {"w1": 0.2, "w5": -3.1},
        "loss_history": loss,
        "loss_history_every": 10,
        "seconds": 0.002,
        "compile_seconds": 0.4,
        "steps_per_second": 5e6,
    }


def training_record(network: str, status: str = "agree") -> dict[str, Any]:
    """Shaped like run._training_record: JAX and NumPy runs and one value after training."""
    return {
        "network": network,
        "status": status,
        "max_abs_diff": 4.4e-16,
        "tolerance": {"rtol": 1e-9, "atol": 1e-12, "fd_safety": 4.0},
        "jax": train_result(network, "jax"),
        "numpy": train_result(network, "numpy"),
        "finals": [
            {
                "quantity": "out:o1@10000",
                "where": "line 610: o1 after 10000 updates",
                "documented": "0.015912196",
                "jax": 0.01591362044,
                "numpy": 0.01591362044,
                "output_first": 0.01591219633,
                "verdict": "discrepancy",
                "verdict_output_first": "match",
            }
        ],
    }


def generated_record(verified: list[bool]) -> dict[str, Any]:
    """Shaped like run._generated_record: one network per ``verified``; the worst case is a
    failure against an exact 0 when one failed, else within its tolerance."""
    replay = f'name = "generated-1-1"\nloss = "half_sse"\n\n[[layers]]\n{LONG_WEIGHTS}\n'
    within = {"oracle": "finite differences", "value": 0.0821670406, "oracle_value": 0.08216704}
    within |= {"error": 4e-8, "abs_error": 1e-10, "allowed": 1e-9}
    against_zero = {"oracle": "JAX", "value": 1e-3, "oracle_value": 0.0, "error": "inf"}
    against_zero |= {"abs_error": 1e-3, "allowed": 1e-12}
    return {
        "count": len(verified),
        "seed": 0,
        "architectures": {"layers": [["1", 3], ["2", 2]], "loss": [["mse", 5]]},
        "errors": {"JAX float64": [1e-16, 0.0, "inf"], "FD float64": [1e-9, 4e-8, 2e-10]},
        "tolerances": {"JAX float64": 1e-9},
        "networks": [
            {
                "index": k,
                "name": "generated-1-1",
                "description": "1-1 identity half_sse float64 batch 1",
                "dtype": "float64",
                "n_params": 2,
                "ok": ok,
                "summary": "generated-1-1: verified",
                "rel_error_jax": 1e-16,
                "rel_error_fd": 1e-9,
            }
            for k, ok in enumerate(verified)
        ],
        "worst": {
            "index": 0,
            "network": "1-1 identity half_sse float64 batch 1",
            "parameter": "layer 1 W[0,0]",
            **(within if all(verified) else against_zero),
            "replay": replay,
        },
        "counterexample": None
        if all(verified)
        else {
            "network": "1-1 identity half_sse float64 batch 1",
            "summary": "generated-1-1: FAILED 1 of 2 entries",
            "shrunk": True,
            "replay": replay,
        },
    }


def sample_report(
    *,
    name: str = "sigmoid-2-2-2",
    golden_verdicts: tuple[str, ...] = ("match",),
    gradient_status: str = "ok",
    generated: tuple[bool, ...] = (True,) * 5,
    training_status: str = "agree",
    spec: Spec | None = None,
    specs: tuple[str, ...] = (),
    candidate: str | None = None,
    zero_oracle: bool = False,
) -> report_data.ReportData:
    """A whole report: ``name``'s gradient checks (from ``specs[0]`` when the user named
    ``specs``), the seed ``spec``'s golden table and training, ``generated`` networks, checked
    with ``candidate`` (None: gradcheck's backprop)."""
    spec = spec or seed_spec("sigmoid-2-2-2")
    rows = [
        (
            f"out:o{k + 1}",
            "0.75136507",
            0.7513650695523157,
            v,
            "typo: a digit" if v == "discrepancy" else "",
        )
        for k, v in enumerate(golden_verdicts)
    ]
    golden = [golden_network(spec, rows)]
    path = specs[0] if specs else "networks/sigmoid_2_2_2.toml"
    gradients = [gradient_verdict(name, gradient_status, path, zero_oracle)]
    properties = generated_record(list(generated))
    training = [training_record(name, training_status)]
    summary = report_data.summary_counts(golden, gradients, properties, training)
    return report_data.ReportData(
        schema=report_data.SCHEMA,
        subject=report_data.report_subject(list(specs), candidate, summary),
        summary=summary,
        golden=golden,
        gradients=gradients,
        properties=properties,
        training=training,
        environment={
            "versions": {"python": "3.11.7", "numpy": "2.4.6", "jax": "0.10.2"},
            "platform": "Linux-x86_64",
            "device": "cpu (x1)",
            "seeds": {"generated networks": 0},
            "command": "gradcheck report --out reports --examples 100 --seed 0",
            "generated_at": "2026-01-01T00:00:00+00:00",
            "elapsed_s": 12.5,
            "candidate": candidate or "gradcheck.hand.backprop:hand_grads",
        },
    )
