"""verify_many: the verdicts of networks verified in batches (the JAX oracle vmapped per shape
bucket) are those of verify, network by network, for passing, failing and kinked networks."""

from __future__ import annotations

from typing import Any

import numpy as np
import planted
import pytest

from gradcheck.checking.batched import verify_many
from gradcheck.checking.candidates import CANDIDATE_FAILURES
from gradcheck.checking.verdict import NetworkVerdict
from gradcheck.checking.verification import verify
from gradcheck.errors import Unsupported
from gradcheck.generate.strategies import Case, sample_networks
from gradcheck.hand import hand_grads
from gradcheck.oracles import jax_grad
from gradcheck.spec import Array, GradientFn, Params, Spec

SMALL: dict[str, Any] = {"depth": (1, 2), "widths": (1, 5), "batch_size": (1, 4)}


def deep_unsupported(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """hand_grads on one-layer networks; deeper ones are unsupported."""
    if len(spec.activations) > 1:
        raise Unsupported("one layer only")
    return hand_grads(spec, params, inputs, targets)


def raises_on_tanh(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """hand_grads, but a candidate that breaks on tanh networks."""
    if "tanh" in spec.activations:
        raise ZeroDivisionError("tanh")
    return hand_grads(spec, params, inputs, targets)


def narrow_and_missing(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """hand_grads, with the first layer's weights in float16 and the last layer's groups left
    out: compared at float16's tolerance and as structure failures beside the batched rest."""
    grads = hand_grads(spec, params, inputs, targets)
    if "W" in grads[0]:
        grads[0]["W"] = grads[0]["W"].astype(np.float16)
    return [*grads[:-1], {}] if len(grads) > 1 else grads


SMALL_DENSE = {**SMALL, "kinds": ("dense",)}  # stacked across networks, bucket by bucket


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    """Both dtypes, every activation and loss, and networks with a relu unit on its kink."""
    kinked = sample_networks(
        20, 8, target_kinks=True, activations=("relu", "leaky_relu", "sigmoid"), **SMALL_DENSE
    )
    dense = sample_networks(60, 7, **SMALL_DENSE)  # many share a bucket
    return dense + sample_networks(6, 9, **SMALL) + kinked  # every kind: verified one by one


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks smaller than a bucket: they are split and the last one padded."""
    monkeypatch.setattr(jax_grad, "_MANY_CHUNK", 16)


def assert_same_verdict(batched: NetworkVerdict, alone: NetworkVerdict) -> None:
    """Same findings; the same numbers but JAX's, which may round otherwise (a vmapped matmul
    may sum in another order) by far less than the verdict allows between hand and JAX."""
    assert (batched.name, batched.ok, batched.mode) == (alone.name, alone.ok, alone.mode)
    assert (batched.problem, batched.unsupported, batched.notes) == (
        alone.problem,
        alone.unsupported,
        alone.notes,
    )
    assert len(batched.checked) == len(alone.checked)
    for b, a in zip(batched.checked, alone.checked, strict=True):
        assert (b.layer, b.group, b.kind) == (a.layer, a.group, a.kind)
        np.testing.assert_array_equal(b.status, a.status)
        np.testing.assert_array_equal(b.rows, a.rows)
        for name in ("hand", "fd", "fd_error_estimate", "step"):
            np.testing.assert_array_equal(b.columns[name], a.columns[name])
        jax_b, jax_a = b.columns["jax"], a.columns["jax"]
        np.testing.assert_array_equal(np.isnan(jax_b), np.isnan(jax_a))
        assert not np.any(np.abs(jax_b - jax_a) > a.columns["tol_jax"])
    np.testing.assert_allclose(batched.loss, alone.loss, rtol=1e-5)


@pytest.mark.parametrize(
    "candidate",
    [
        hand_grads,
        planted.wrong_sigmoid_derivative,
        planted.missing_transpose,
        planted.shared_bias_not_summed,
        deep_unsupported,
        raises_on_tanh,
        narrow_and_missing,
    ],
    ids=lambda c: c.__name__,
)
def test_batched_verdicts_are_verify_network_by_network(
    candidate: GradientFn, cases: list[Case]
) -> None:
    batched = verify_many(candidate, cases, catch=CANDIDATE_FAILURES)
    alone = [verify(candidate, *case, catch=CANDIDATE_FAILURES) for case in cases]
    assert len(batched) == len(cases)
    for b, a in zip(batched, alone, strict=True):
        assert_same_verdict(b, a)
    if candidate is not hand_grads:  # each planted bug, or its refusal, shows in the batch
        assert not all(v.ok and not v.unsupported for v in batched)


def test_batch_spans_both_dtypes_and_kinks(cases: list[Case]) -> None:
    """The comparison above meets float32 and float64 networks and entries on a kink."""
    verdicts = verify_many(hand_grads, cases)
    assert {c.spec.model.dtype for c in cases} == {"float32", "float64"}
    statuses = {e.status for v in verdicts for e in v.entries}
    assert "non-differentiable here" in statuses
    assert all(v.ok for v in verdicts)


def test_bad_network_in_a_batch_raises_before_any_check(cases: list[Case]) -> None:
    spec, params, inputs, _ = cases[0]
    bad = (spec, params, inputs, np.zeros((len(inputs) + 1, spec.sizes[-1])))
    calls: list[int] = []

    def counting(*arguments: object) -> Params:
        calls.append(1)
        return hand_grads(*arguments)  # type: ignore[arg-type]

    with pytest.raises(Exception, match="targets"):
        verify_many(counting, [cases[1], bad])
    assert calls == []


def test_an_unknown_option_raises_before_any_network_is_checked(cases: list[Case]) -> None:
    with pytest.raises(TypeError, match=r"unknown verify options \['rtl'\]"):
        verify_many(hand_grads, cases[:2], rtl=1e-3)
