"""The verdict records: JSON-able entries named by label and location, one-line summaries, lazy
failures, and relative errors against an exact zero."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from helpers import changed, seed_spec

from gradcheck.checking.verdict import NetworkVerdict
from gradcheck.checking.verification import verify
from gradcheck.hand import hand_grads
from gradcheck.spec import Array, GradientFn, Params, Spec, load_spec


def sigmoid_seed_verdict(scale_w7: float = 1.0) -> NetworkVerdict:
    return verify(changed((1, "W"), (1, 0), scale_w7), seed_spec("sigmoid-2-2-2"))


def test_verdict_records_are_json_and_name_every_entry() -> None:
    verdict = sigmoid_seed_verdict(scale_w7=1.5)
    data = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
    assert data["ok"] is False and data["mode"] == "entries" and data["n_params"] == 8
    assert data["counts"]["backprop-bug"] == 1 and data["counts"]["ok"] == 7
    assert [e["label"] for e in data["entries"]] == [f"w{k}" for k in range(1, 9)]
    w7 = data["entries"][6]
    assert w7["location"] == "layer 2 W[1,0]" and w7["index"] == [1, 0] and w7["layer"] == 1
    assert w7["status"] == "backprop-bug" and w7["abs_error_jax"] > w7["tol_jax"]
    assert w7["hand"] == pytest.approx(1.5 * w7["jax"])
    assert w7["rel_error_jax"] == pytest.approx(0.5)
    assert set(w7) >= {"fd", "fd_error_estimate", "step", "abs_error_fd", "rel_error_fd", "tol_fd"}


def test_summary_is_one_line_naming_the_failing_layer_and_entry() -> None:
    failed = sigmoid_seed_verdict(scale_w7=1.5).summary()
    assert "\n" not in failed
    assert failed.startswith("sigmoid-2-2-2: FAILED 1 of 8 entries; w7 (layer 2 W[1,0]): hand ")
    assert "[backprop-bug]" in failed and "[float64 rtol=1e-09" in failed
    passed = sigmoid_seed_verdict().summary()
    assert passed.startswith("sigmoid-2-2-2: verified, 8 entries: hand = JAX = FD [float64")


def test_failures_and_entries_are_built_lazily_from_the_arrays() -> None:
    verdict = sigmoid_seed_verdict(scale_w7=-1.0)
    assert verdict.failures == tuple(e for e in verdict.entries if e.status == "backprop-bug")
    assert [e.label for e in verdict.failures] == ["w7"]
    assert not verdict.ok and verdict.counts["backprop-bug"] == 1


def test_relative_errors_against_an_exact_zero_are_zero_or_infinite(linear_seed: Spec) -> None:
    spec = linear_seed
    zero_input = np.zeros((1, 2))  # every layer-1 weight gradient is exactly 0
    right = verify(hand_grads, spec, inputs=zero_input)
    assert [e.rel_error_jax for e in right.entries[:4]] == [0.0] * 4 and right.ok

    def nonzero(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        grads[0]["W"][0, 0] = 1e-3
        return grads

    wrong = verify(nonzero, spec, inputs=zero_input)
    assert [(e.label, e.rel_error_jax) for e in wrong.failures] == [("w1", float("inf"))]
    assert json.loads(json.dumps(wrong.to_dict()))["entries"][0]["rel_error_jax"] == "inf"


def test_a_structure_failure_points_to_the_summary_note_that_says_why(linear_seed: Spec) -> None:
    def transposed(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        return [grads[0], {"W": grads[1]["W"].T}]

    verdict = verify(transposed, linear_seed)
    (line,) = verdict.failure_lines()
    assert line == 'layer 2 W: [structure] (why: "candidate: layer 2 ..." in the summary)'
    assert "; candidate: layer 2 W: shape (2, 1) dtype float64, expected (1, 2)" in (
        verdict.summary()
    )


def _same_checks(a: NetworkVerdict, b: NetworkVerdict) -> None:
    assert len(a.checked) == len(b.checked)
    for x, y in zip(a.checked, b.checked, strict=True):
        assert (x.layer, x.group, x.kind, x.shape) == (y.layer, y.group, y.kind, y.shape)
        assert np.array_equal(x.rows, y.rows) and np.array_equal(x.status, y.status)
        assert list(x.columns) == list(y.columns)
        for name, column in x.columns.items():
            assert np.array_equal(column, y.columns[name], equal_nan=True), name


def test_a_verdict_pickles_whole_with_its_groups_packed_or_each_by_itself(
    linear_seed: Spec,
) -> None:
    def transposed(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        return [grads[0], {"W": grads[1]["W"].T}]

    packed = sigmoid_seed_verdict(scale_w7=1.5)  # every group with the same columns
    mixed = verify(transposed, linear_seed)  # a structure group has columns of its own
    assert len({tuple(c.columns) for c in mixed.checked}) == 2
    for verdict in (packed, mixed):
        again = pickle.loads(pickle.dumps(verdict))
        _same_checks(verdict, again)
        assert again.to_dict() == verdict.to_dict() and again.spec is not None
        owners = [c.columns["hand"].base for c in again.checked]
        if verdict is packed:  # views into one array
            assert owners[0] is not None and all(o is owners[0] for o in owners)
        else:
            assert all(o is None for o in owners)


def _scaled_below(top: int, factor: float = 2.0) -> GradientFn:
    """hand_grads with every layer below ``top`` (0-based) scaled: as a wrong input gradient of
    layer ``top`` would leave them."""

    def candidate(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        return [
            {k: factor * a for k, a in g.items()} if i < top else g for i, g in enumerate(grads)
        ]

    return candidate


def test_failures_below_a_layer_that_agrees_say_where_the_error_enters() -> None:
    spec = load_spec(
        Path(__file__).resolve().parents[2] / "networks" / "mlp_batchnorm_dropout.toml"
    )
    verdict = verify(_scaled_below(1), spec)  # the batch_norm's input gradient, say
    assert verdict.enters == (
        "where it enters: only layer 1 fails, every layer above agrees: look at layer 2's input "
        "gradient, layer 1's activation derivative and layer 1's own gradient"
    )
    assert verdict.failure_lines()[-1] == verdict.enters
    deeper = verify(_scaled_below(3), spec)  # below the last dense layer: layers 1 and 2 fail
    assert deeper.enters.startswith("where it enters: every layer up to 2 fails")
    assert "look at layers 3-4' input gradient" in deeper.enters  # the dropout between passes it


def test_a_failure_of_one_layer_above_agreeing_ones_names_no_entry_point() -> None:
    spec = seed_spec("sigmoid-2-2-2")
    verdict = verify(changed((1, "W"), (1, 0), 1.5), spec)  # the output layer's own formula
    assert not verdict.ok and verdict.enters == ""
    assert verify(hand_grads, spec).enters == ""


def test_a_missing_group_or_a_narrower_dtype_names_no_entry_point() -> None:
    spec = load_spec(
        Path(__file__).resolve().parents[2] / "networks" / "mlp_batchnorm_dropout.toml"
    )

    def narrow(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        grads[0] = {k: a.astype(np.float32) for k, a in grads[0].items()}
        return grads

    def missing(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        del grads[0]["b"]
        return grads

    for candidate in (narrow, missing):
        verdict = verify(candidate, spec)
        assert not verdict.ok and verdict.enters == ""
