"""``verify_layer``: correct course-style layers pass; each planted bug is caught, blamed on the
right side and argument, and shrunk to a small case that replays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from planted_layers import PLANTED, layers

from gradcheck import GradcheckError, LayerVerdict, UnknownName, verify_layer
from gradcheck.checking.layer_verdict import BACKWARD_WRONG, FORWARD_WRONG, PASSED
from gradcheck.spec.layer_contract import LAYER_CONTRACTS

CORRECT: dict[str, tuple[Any, Any]] = {
    "dense": (layers.affine_forward, layers.affine_backward),
    "conv2d": (layers.conv_forward, layers.conv_backward),
    "max_pool2d": (layers.max_pool_forward, layers.max_pool_backward),
    "avg_pool2d": (layers.avg_pool_forward, layers.avg_pool_backward),
    "flatten": (layers.flatten_forward, layers.flatten_backward),
    "batch_norm": (layers.batchnorm_forward, layers.batchnorm_backward),
    "layer_norm": (layers.layernorm_forward, layers.layernorm_backward),
    "dropout": (layers.dropout_forward, layers.dropout_backward),
    "rnn": (layers.rnn_forward, layers.rnn_backward),
    "residual": (layers.residual_forward, layers.residual_backward),
}
# Pooling windows are trace-time constants of the JAX reference: fixed here to keep compiles few.
WINDOW = {"pool_height": 2, "pool_width": 3}


def test_every_contracted_kind_has_a_correct_example() -> None:
    assert set(CORRECT) == set(LAYER_CONTRACTS)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", sorted(CORRECT))
def test_a_correct_layer_passes_every_check(kind: str, dtype: str) -> None:
    fixed = WINDOW if "pool" in kind else {}
    verdict = verify_layer(kind, *CORRECT[kind], examples=10, dtype=dtype, **fixed)
    assert verdict.ok, "\n".join([verdict.summary(), *verdict.failure_lines()])
    assert verdict.diagnosis == PASSED and verdict.examples == 10
    assert verdict.summary().startswith(f"PASS {kind} ")


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_a_planted_bug_is_caught_blamed_and_shrunk(bug: str) -> None:
    planted = PLANTED[bug]
    verdict = verify_layer(planted.kind, planted.forward, planted.backward, examples=40,
                           **planted.fixed)  # fmt: skip
    assert not verdict.ok and verdict.case is not None and verdict.result is not None
    assert verdict.diagnosis == planted.diagnosis
    failed = [c for c in verdict.result.checks if not c.ok]
    assert failed and not verdict.result.problem
    if planted.diagnosis == BACKWARD_WRONG:
        assert failed[0].check == "backward vs JAX vjp"
        assert failed[0].where.startswith(planted.gradient) and "[" in failed[0].where
    if planted.diagnosis == FORWARD_WRONG:
        checks = [c.check for c in failed]  # the vjp of the reference is no guide to this forward
        assert "forward vs reference" in checks and "backward vs FD of your forward" not in checks
    assert verdict.case["N"] <= 2 and verdict.case["data_seed"] < 2**16  # shrunk
    again = verify_layer(planted.kind, planted.forward, planted.backward, examples=1,
                         **verdict.case)  # fmt: skip
    assert not again.ok and again.case == verdict.case  # the replay finds the same case


def test_shrinking_reaches_the_smallest_shape_that_shows_the_bug() -> None:
    planted = PLANTED["rnn-without-through-time"]
    verdict = verify_layer("rnn", planted.forward, planted.backward, examples=40)
    assert verdict.case is not None
    assert verdict.case["T"] == 2  # a through-time term needs two steps, and two suffice
    assert (verdict.case["N"], verdict.case["D"], verdict.case["H"]) == (1, 1, 1)


def test_the_replay_line_names_the_case_and_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    planted = PLANTED["avg-pool-not-divided"]
    verdict = verify_layer("avg_pool2d", planted.forward, planted.backward, **planted.fixed)
    assert verdict.replay is not None and verdict.replay.startswith(
        "verify_layer('avg_pool2d', avg_pool_forward, avg_pool_backward_not_divided, examples=1, "
    )
    assert verdict.command is not None
    assert "--backward tests/planted_layers.py:avg_pool_backward_not_divided" in verdict.command
    assert all(f"--option {k}={v}" in verdict.command for k, v in verdict.case.items())  # type: ignore[union-attr]
    assert verdict.replay in verdict.failure_lines()[-2]


@pytest.mark.parametrize(
    ("forward", "backward", "problem"),
    [
        (
            lambda x, w, b: x @ w + b,
            layers.affine_backward,
            "forward returned ndarray, expected (out, cache)",
        ),
        (
            lambda x, w, b: ((x @ w + b)[:, :1], None),
            layers.affine_backward,
            "forward returned out of shape",
        ),
        (
            lambda x, w, b: (np.full((x.shape[0], b.size), np.nan), None),
            layers.affine_backward,
            "forward returned NaN or inf in out",
        ),
        (
            layers.affine_forward,
            lambda dout, cache: layers.affine_backward(dout, cache)[:2],
            "backward returned 2 values, expected (dx, dw, db)",
        ),
        (layers.affine_forward, lambda dout, cache: (1, 2, 3), "backward returned dx of shape ()"),
    ],
    ids=["not-a-pair", "wrong-shape", "nan", "arity", "scalar-gradient"],
)
def test_a_broken_layer_fails_with_one_line_naming_what_it_did(
    forward: Any, backward: Any, problem: str
) -> None:
    verdict = verify_layer("dense", forward, backward, examples=5, layout="in_out", M=2)
    assert not verdict.ok and verdict.result is not None
    assert verdict.result.problem.startswith(problem) and "\n" not in verdict.result.problem
    assert problem.split()[0] in verdict.diagnosis


def test_a_forward_that_raises_is_named_with_its_line() -> None:
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Any:
        raise ValueError("shapes do not align")

    verdict = verify_layer("dense", forward, layers.affine_backward, examples=3)
    assert verdict.result is not None
    assert verdict.result.problem.startswith("forward raised ValueError: shapes do not align at ")
    assert "test_verify_layer.py:" in verdict.result.problem


def test_gradchecks_own_layout_is_an_option() -> None:
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Any:
        return layers.affine_forward(x, w.T, b)

    def backward(dout: np.ndarray, cache: Any) -> Any:
        dx, dw, db = layers.affine_backward(dout, cache)
        return dx, dw.T, db

    assert verify_layer("dense", forward, backward, examples=8, layout="out_in").ok
    assert not verify_layer("dense", forward, backward, examples=8, D=3, M=2).ok


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("conv3d", {}, "no layer-level kind named 'conv3d'"),
        ("conv2d", {"strides": 2}, "verify_layer conv2d: no option 'strides' (options: N, C,"),
        (
            "conv2d",
            {"stride": 0},
            "verify_layer conv2d: option stride: expected an integer >= 1, got 0",
        ),
        ("conv2d", {"H": 1, "HH": 3, "pad": 0}, "verify_layer conv2d: options give out the shape"),
        ("dense", {"dtype": "float16"}, "verify_layer dense: dtype: expected float64 or float32"),
        ("dropout", {"p": 1.0}, "verify_layer dropout: option p: expected a drop rate in [0, 1)"),
    ],
)
def test_bad_options_raise_one_line(kind: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises((GradcheckError, UnknownName)) as err:
        verify_layer(kind, layers.conv_forward, layers.conv_backward, examples=2, **options)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_verdict_serialises_its_checks_and_case() -> None:
    planted = PLANTED["dropout-mask-not-applied"]
    verdict = verify_layer("dropout", planted.forward, planted.backward, examples=20)
    data = verdict.to_dict()
    assert isinstance(verdict, LayerVerdict) and data["ok"] is False
    assert data["case"] == verdict.case and data["diagnosis"] == BACKWARD_WRONG
    assert [c["check"] for c in data["checks"]] == [
        "forward vs reference", "backward vs JAX vjp", "backward vs FD of your forward"
    ]  # fmt: skip


@pytest.mark.parametrize("bug", ["avg-pool-not-divided", "conv-without-kernel-flip"])
def test_failure_lines_count_entries_in_words_and_name_the_header_entry(bug: str) -> None:
    planted = PLANTED[bug]
    verdict = verify_layer(planted.kind, planted.forward, planted.backward, examples=40,
                           **planted.fixed)  # fmt: skip
    assert verdict.result is not None
    _, vjp, fd = verdict.result.checks
    assert f"backward vs JAX vjp at {vjp.where};" in verdict.summary()
    assert fd.where == vjp.where  # FD names the entry the header and the JAX line name
    assert vjp.tallies == fd.tallies  # the same arrays, counted entry by entry, both ways
    lines = verdict.failure_lines()
    assert lines[1].endswith(" entries of dx differ") or " entries differ (dx " in lines[1]
    assert lines[1].split("); ")[-1] == lines[2].split("); ")[-1]


def test_a_passing_fd_check_says_it_agrees_along_one_direction_through_every_gradient() -> None:
    planted = PLANTED["layernorm-over-the-batch"]
    verdict = verify_layer("layer_norm", planted.forward, planted.backward, examples=40)
    assert verdict.result is not None
    assert verdict.result.checks[2].describe() == (
        "backward vs FD of your forward: ok; agrees along a random direction through dx, dgamma, "
        "dbeta"
    )
    assert verdict.result.checks[0].describe().endswith(" entries of out differ")


def test_a_backward_in_a_narrower_dtype_is_named_so() -> None:
    """A float32 gradient of a float64 layer misses by float32's rounding: the failing check
    says which dtype it came in (``verify`` calls that a dtype-mismatch)."""
    forward, backward = CORRECT["dense"]

    def narrow(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return tuple(np.asarray(g, np.float32) for g in backward(dout, cache))

    verdict = verify_layer("dense", forward, narrow, examples=10)
    assert not verdict.ok and verdict.diagnosis == BACKWARD_WRONG
    text = "\n".join(verdict.failure_lines())
    assert "is float32, the layer float64)" in text and "FAIL d" in text


def test_a_pass_over_one_case_says_one_case() -> None:
    verdict = verify_layer("dense", *CORRECT["dense"], examples=1)
    assert verdict.ok and ": 1 case, forward vs reference" in verdict.summary()
