"""Honest verdicts: a gradient in a narrower dtype is a dtype-mismatch naming both dtypes (and a
real bug in it still a backprop-bug), a network with every group frozen has nothing to check, and
a candidate that raises is named with its exception and its own file and line."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from helpers import changed, make_spec

from gradcheck.checking.candidates import load_candidate
from gradcheck.checking.verdict import FAILING, STATUS_MEANINGS, STATUSES, NetworkVerdict, tally
from gradcheck.checking.verification import verify
from gradcheck.hand import hand_grads
from gradcheck.report.data import network_word, status_of
from gradcheck.spec import Array, GradientFn, Params, Spec


def tol64(floor: str = "") -> str:
    """The float64 tolerance as a summary prints it, with the absolute floors ``floor``."""
    return f"[float64 rtol=1e-09 atol=1e-12 x max|grad|{floor} fd=4x estimate]"


def as_dtype(dtype: str, candidate: GradientFn = hand_grads, only: str = "") -> GradientFn:
    """``candidate``'s gradients cast to ``dtype`` (only the group ``only``, ``"1 W"``: 0-based)."""

    def cast(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = candidate(spec, params, inputs, targets)
        return [
            {g: a.astype(dtype) if only in ("", f"{i} {g}") else a for g, a in layer.items()}
            for i, layer in enumerate(grads)
        ]

    return cast


def frozen_spec() -> Spec:
    """1-1, its one weight frozen and no bias: nothing trainable."""
    layer = {"size": 1, "activation": "identity", "weights": [[0.5]], "trainable": False}
    return make_spec([layer], [[1.0]], [[2.0]], name="frozen-1-1")


# -- dtype-mismatch ------------------------------------------------------------------------------
def test_a_float32_result_for_a_float64_network_is_a_dtype_mismatch_naming_both_dtypes(
    linear_seed: Spec,
) -> None:
    verdict = verify(as_dtype("float32"), linear_seed)
    assert not verdict.ok
    assert verdict.counts["dtype-mismatch"] == 6 == len(verdict.failures)
    assert verdict.notes == (
        "candidate returned float32 for a float64 network: layer 1 W, layer 2 W",
    )
    assert verdict.summary(limit=0) == (
        "linear-2-2-1: FAILED 6 of 6 entries; candidate returned float32 for a float64 network: "
        f"layer 1 W, layer 2 W {tol64(' (floor 4.7e-13..7.1e-13)')}"
    )
    first = verdict.failures[0].describe()
    assert first.startswith("w1 (layer 1 W[0,0]): hand -0.251520008 vs JAX -0.25152, FD -0.25152")
    assert first.endswith("[dtype-mismatch]")


def test_a_real_bug_in_a_float32_result_is_still_a_backprop_bug(linear_seed: Spec) -> None:
    verdict = verify(as_dtype("float32", changed((1, "W"), (0, 0), 1.01)), linear_seed)
    assert [(e.label, e.status) for e in verdict.failures] == [
        ("w1", "dtype-mismatch"),
        ("w2", "dtype-mismatch"),
        ("w3", "dtype-mismatch"),
        ("w4", "dtype-mismatch"),
        ("w5", "backprop-bug"),  # 1% off: far beyond float32's tolerance too
        ("w6", "dtype-mismatch"),
    ]


def test_only_the_groups_returned_narrower_are_dtype_mismatches(linear_seed: Spec) -> None:
    verdict = verify(as_dtype("float32", only="1 W"), linear_seed)
    assert [(e.label, e.status) for e in verdict.entries] == [
        ("w1", "ok"),
        ("w2", "ok"),
        ("w3", "ok"),
        ("w4", "ok"),
        ("w5", "dtype-mismatch"),
        ("w6", "dtype-mismatch"),
    ]
    assert verdict.notes == ("candidate returned float32 for a float64 network: layer 2 W",)


def test_a_dtype_without_a_tolerance_of_its_own_is_a_dtype_mismatch_on_every_entry(
    linear_seed: Spec,
) -> None:
    verdict = verify(as_dtype("float16", changed((1, "W"), (0, 0), 1.01)), linear_seed)
    assert {e.status for e in verdict.entries} == {"dtype-mismatch"}
    assert verdict.notes == (
        "candidate returned float16 for a float64 network: layer 1 W, layer 2 W",
    )


def test_a_projection_check_of_a_float32_result_is_a_dtype_mismatch(linear_seed: Spec) -> None:
    verdict = verify(as_dtype("float32"), linear_seed, mode="projection")
    assert [(e.location, e.status) for e in verdict.entries] == [
        ("layer 1 W (random direction)", "dtype-mismatch"),
        ("layer 2 W (random direction)", "dtype-mismatch"),
    ]
    assert verdict.summary(limit=0).startswith("linear-2-2-1: FAILED 2 of 2 checks (projection); ")


def test_a_float64_result_for_a_float32_network_is_compared_not_failed() -> None:
    layers = [
        {"size": 2, "activation": "tanh", "weights": [[0.3, -0.2], [0.1, 0.4]]},
        {"size": 1, "activation": "identity", "weights": [[0.7, -0.5]]},
    ]
    spec = make_spec(layers, [[0.5, 1.0]], [[0.25]], dtype="float32")
    verdict = verify(as_dtype("float64"), spec)
    assert verdict.ok and verdict.counts["ok"] == 6 and verdict.notes == ()


def test_dtype_mismatch_is_a_described_failing_status_the_report_shows_as_a_failure() -> None:
    assert set(STATUS_MEANINGS) == set(STATUSES)
    assert "dtype-mismatch" in FAILING and status_of("dtype-mismatch") == "fail"
    assert STATUS_MEANINGS["dtype-mismatch"] == (
        "in a narrower dtype than the network's; right at that dtype's tolerance"
    )


# -- nothing to check ----------------------------------------------------------------------------
def test_a_network_with_every_group_frozen_has_nothing_to_check() -> None:
    verdict = verify(hand_grads, frozen_spec())
    assert verdict.ok and verdict.nothing_to_check and verdict.n_params == 0
    assert verdict.summary() == "frozen-1-1: nothing to check, every group is frozen"
    data = verdict.to_dict()
    assert data["nothing_to_check"] is True and data["ok"] is True
    assert network_word(data) == "nothing to check" and status_of("nothing to check") == "warn"


def test_the_tally_counts_networks_with_nothing_to_check_apart(linear_seed: Spec) -> None:
    verdicts = [
        verify(hand_grads, linear_seed),
        verify(hand_grads, frozen_spec()),
        verify(changed((1, "W"), (0, 0), 2.0), linear_seed),
    ]
    assert [v.nothing_to_check for v in verdicts] == [False, True, False]
    assert tally(verdicts) == "1 of 3 networks verified, 1 with nothing to check, 1 FAILED"
    assert tally(verdicts[:1]) == "1 of 1 networks verified"


def test_a_gradient_for_a_frozen_group_still_fails_where_nothing_is_trainable() -> None:
    def frozen_too(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        return [{"W": np.zeros((1, 1))}]

    verdict = verify(frozen_too, frozen_spec())
    assert not verdict.ok and not verdict.nothing_to_check
    assert verdict.summary() == (
        'frozen-1-1: FAILED 1 of 1 group; layer 1 W: [structure] (why: "candidate: layer 1 ..." in '
        "the summary); "
        f"candidate: layer 1 W: returned for a frozen group (not trainable here) {tol64()}"
    )


def test_a_candidate_that_raises_fails_even_where_nothing_is_trainable() -> None:
    def broken(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        raise ValueError("no layers")

    verdict = verify(broken, frozen_spec(), catch=(ValueError,))
    line = broken.__code__.co_firstlineno + 1
    assert not verdict.ok and not verdict.nothing_to_check
    assert verdict.summary() == (
        f"frozen-1-1: FAILED: candidate raised ValueError: no layers at "
        f"test_honest_verdicts.py:{line}; every group is frozen"
    )


# -- a candidate that raises ---------------------------------------------------------------------
SHAKY = """\
import statistics

def mean_of(values):
    return statistics.mean(values)

def grads(spec, params, inputs, targets):
    return [{"W": mean_of([])} for layer in params]
"""


def test_a_candidate_that_raises_is_named_with_its_own_file_and_line(
    tmp_path: Path, linear_seed: Spec
) -> None:
    (tmp_path / "shaky.py").write_text(SHAKY)
    verdict = verify(
        load_candidate(f"{tmp_path / 'shaky.py'}:grads"), linear_seed, catch=(Exception,)
    )
    # statistics.py raised it; line 4 is where the candidate's own code called it
    note = "candidate raised StatisticsError: mean requires at least one data point at shaky.py:4"
    assert not verdict.ok and verdict.problem == note and verdict.notes == (note,)
    assert verdict.counts["structure"] == 2 and verdict.failure_lines() == []
    assert verdict.summary() == f"linear-2-2-1: FAILED: {note}; 2 of 2 groups unchecked"
    assert verdict.to_dict()["problem"] == note


def test_a_wrapped_candidate_that_raises_is_named_with_its_own_file_and_line(
    linear_seed: Spec,
) -> None:
    def broken(spec: Spec, params: Params, inputs: Array, targets: Array, *, unit: int) -> Params:
        raise IndexError(f"no unit {unit}\n(of 2)")

    line = broken.__code__.co_firstlineno + 1
    verdict = verify(functools.partial(broken, unit=3), linear_seed, catch=(IndexError,))
    assert verdict.problem == (
        f"candidate raised IndexError: no unit 3 (of 2) at test_honest_verdicts.py:{line}"
    )


def test_a_result_that_is_not_a_list_of_dicts_is_the_problem_not_a_group(
    linear_seed: Spec,
) -> None:
    verdict = verify(lambda spec, params, inputs, targets: None, linear_seed)
    assert verdict.problem == "candidate returned NoneType, expected a list of 2 dicts"
    assert verdict.summary() == (
        "linear-2-2-1: FAILED: candidate returned NoneType, expected a list of 2 dicts; "
        "2 of 2 groups unchecked"
    )


# -- counts: groups where groups failed, entries where entries did -------------------------------
def test_structure_failures_are_counted_in_groups_and_entries_in_entries(linear_seed: Spec) -> None:
    def half_wrong(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        grads[0]["W"][0, 0] *= 2.0
        return [grads[0], {"W": grads[1]["W"].T}]

    verdict = verify(half_wrong, linear_seed)
    assert verdict.summary(limit=1) == (
        "linear-2-2-1: FAILED 1 of 2 groups and 1 of 4 entries; w1 (layer 1 W[0,0]): hand "
        "-0.50304 vs JAX -0.25152, FD -0.25152 +- 2.7e-10 [backprop-bug]; and 1 more; "
        f"candidate: layer 2 W: shape (2, 1) dtype float64, expected (1, 2) "
        f"{tol64(' (floor 4.7e-13)')}"
    )
    assert verdict.failure_lines() == [
        "w1 (layer 1 W[0,0]): hand -0.50304 vs JAX -0.25152, FD -0.25152 +- 2.7e-10 [backprop-bug]",
        'layer 2 W: [structure] (why: "candidate: layer 2 ..." in the summary)',
    ]


@pytest.mark.parametrize("candidate", [hand_grads, as_dtype("float32")])
def test_entries_keep_the_order_of_the_parameters(candidate: GradientFn, linear_seed: Spec) -> None:
    labels = [e.label for e in verify(candidate, linear_seed).entries]
    assert labels == ["w1", "w2", "w3", "w4", "w5", "w6"]


def _flipped_first_layer(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """hand_grads with layer 1's gradients negated: every sign wrong."""
    grads = hand_grads(spec, params, inputs, targets)
    grads[0] = {k: -a for k, a in grads[0].items()}
    return grads


def test_a_flipped_sign_below_three_float32_batch_norms_is_caught() -> None:
    # A float32 conv net below three batch_norms or more (drawn with seed 0 in float32).
    # The error model multiplied delta's term size by x_hat's at every norm, compounding each
    # norm's 1/std into the bound of every layer below: layer 1's allowance reached 3e3 for a
    # gradient of 0.25 and a flipped sign passed there. Taken to first order (each factor's terms
    # times the other's values) the flip fails.
    from gradcheck.generate.strategies import sample_networks

    case = sample_networks(1, 0, dtypes=("float32",))[0]
    assert case.spec.kinds.count("batch_norm") >= 3 and case.spec.kinds[0] == "conv2d"
    assert verify(hand_grads, *case).ok
    caught = verify(_flipped_first_layer, *case)
    assert not caught.ok and {e.layer for e in caught.failures} == {0}
    assert {e.status for e in caught.failures} == {"backprop-bug"}


def _flipped_entry(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """hand_grads with layer 1's last bias entry negated."""
    grads = hand_grads(spec, params, inputs, targets)
    grads[0]["b"][-1] *= -1.0
    return grads


def test_a_check_its_rounding_bound_makes_blind_says_so_and_float64_sees_the_bug() -> None:
    # dense -> batch_norm over a batch of 2 -> dense, float32: x_hat is +-1 whatever the inputs
    # but for eps, so the gradient below the norm (b[3] = -1.1e-4) is what is left of terms that
    # cancel; the error model's worst case for such a sum (1.1e-2) is beyond the value itself, so
    # its flipped sign passes. The verdict counts that entry instead of a bare "verified", and
    # in float64 the bug fails.
    from gradcheck.generate.strategies import sample_networks
    from gradcheck.spec import parse_spec

    small = {"kinds": ("dense", "batch_norm"), "depth": (1, 2), "widths": (1, 4)}
    case = sample_networks(1, 7, dtypes=("float32",), first=185, **small)[0]
    assert case.spec.kinds == ("dense", "batch_norm", "dense") and case.inputs.shape[0] == 2
    assert verify(hand_grads, *case).ok
    blind = verify(_flipped_entry, *case)
    assert blind.ok and blind.unseeing == 1
    assert "1 of them past what the network's rounding bound lets a check see" in blind.summary()
    data = {**case.spec.model.model_dump(exclude_none=True), "dtype": "float64"}
    wide = parse_spec(data, "<float64>")
    caught = verify(_flipped_entry, wide)
    assert not caught.ok and [(e.layer, e.index) for e in caught.failures] == [(0, (3,))]


def _bound_only(verdict: NetworkVerdict) -> int:
    """Entries whose rounding bound alone allows twice their value, not counted blind."""
    return sum(
        int(
            np.sum(
                (c.columns["tol_jax"] >= 2 * np.abs(c.columns["jax"])) & (c.columns["blind"] == 0)
            )
        )
        for c in verdict.checked
    )


def test_an_entry_the_evidence_rule_would_catch_flipped_is_not_counted_blind() -> None:
    # A float32 MLP below two layer_norms: the bound alone allows more than the gradients, but
    # JAX and FD agree 10^5 times closer than a flipped sign would lie from them, so the flip
    # fails and no entry is counted blind.
    from gradcheck.generate.strategies import sample_networks

    drawn = sample_networks(60, 0, dtypes=("float32",), kinds=("dense", "layer_norm"))
    mlps = [c for c in drawn if c.spec.kinds.count("layer_norm") == 2]
    verdicts = [verify(hand_grads, *c) for c in mlps]
    assert all(v.ok for v in verdicts)
    # the old count would have called these entries blind
    case = next(c for c, v in zip(mlps, verdicts, strict=True) if not v.unseeing and _bound_only(v))

    def flipped(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        return [{k: -a for k, a in g.items()} for g in hand_grads(spec, params, inputs, targets)]

    assert not verify(flipped, *case).ok


def test_a_raise_in_the_users_own_module_behind_the_candidate_is_named_there(
    tmp_path: Path, linear_seed: Spec
) -> None:
    """Course-style layers behind an adapter: the mistake is in the layers' file, not at the
    adapter's call (a trial's IndexError was placed on the adapter's line)."""
    (tmp_path / "my_layers_raising.py").write_text(
        "def backward(dout):\n    return dout[5]\n"  # line 2: the index past the end
    )
    (tmp_path / "adapter.py").write_text(
        "import my_layers_raising\n\n"
        "def grads(spec, params, inputs, targets):\n"
        "    return my_layers_raising.backward(inputs)\n"
    )
    verdict = verify(
        load_candidate(f"{tmp_path / 'adapter.py'}:grads"), linear_seed, catch=(Exception,)
    )
    assert verdict.problem.startswith("candidate raised IndexError: ")
    assert verdict.problem.endswith(" at my_layers_raising.py:2")
