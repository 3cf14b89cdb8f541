"""Properties of the hand-derived gradient on generated networks.

For every drawn network the hand-derived gradient, JAX and finite differences agree (float64,
float32 with its own tolerance, saturated units, exact relu kinks); and the gradient obeys
invariants no oracle is needed for: zero at a perfect fit, linear in the loss scale, and frozen
groups never move. A failing example prints as ``Case.from_toml('''...''')`` (the replay) and,
with ``print_blob``, the ``@reproduce_failure`` line that replays Hypothesis's exact draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from helpers import assert_params_close
from hypothesis import given, note, settings

from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import Case, networks
from gradcheck.hand import forward, hand_grads, sgd_step, train_numpy
from gradcheck.layers import KINDS, LOSSES
from gradcheck.oracles import jax_grads
from gradcheck.spec import GradientFn, Params, Spec, parse_spec

# Example counts sized for CI's time budget; a profile asking for more (HYPOTHESIS_PROFILE=dev,
# see tests/conftest.py) gets its own count instead.
_MORE_EXAMPLES = settings.default is not None and settings.default.max_examples > 100


def _examples(ci: int) -> int:
    assert settings.default is not None
    return settings.default.max_examples if _MORE_EXAMPLES else ci


F64 = ("float64",)  # the invariants hold exactly; float32 is checked three-way above
THREE_WAY = settings(max_examples=_examples(60), print_blob=True)
INVARIANT = settings(max_examples=_examples(30), print_blob=True)


def _assert_verified(candidate: GradientFn, case: Case) -> None:
    verdict = verify(candidate, *case)
    note(verdict.summary())
    assert verdict.ok, verdict.summary()


# a dropout mask is drawn per sample: a duplicated batch gets other masks
NO_DROPOUT = tuple(k for k in KINDS if k != "dropout")


@THREE_WAY
@given(networks(depth=(1, 4), widths=(1, 8), dtypes=F64))
def test_hand_jax_and_finite_differences_agree_in_float64(case: Case) -> None:
    _assert_verified(hand_grads, case)


@settings(max_examples=_examples(30), print_blob=True)  # two JAX programs per shape: fewer
@given(networks(depth=(1, 3), widths=(1, 6), dtypes=("float32",)))
def test_hand_jax_and_finite_differences_agree_in_float32(case: Case) -> None:
    _assert_verified(hand_grads, case)


@INVARIANT
@given(
    networks(
        activations=("sigmoid", "tanh"),
        saturating=True,
        losses=("half_sse", "mse"),
        dtypes=("float64", "float32"),
    )
)
def test_saturated_sigmoid_and_tanh_units_still_agree(case: Case) -> None:
    _assert_verified(hand_grads, case)


@INVARIANT
@given(networks(activations=("relu", "leaky_relu", "identity"), target_kinks=True, dtypes=F64))
def test_an_exact_relu_kink_fails_nothing_and_hand_matches_jax_there(case: Case) -> None:
    verdict = verify(hand_grads, *case)
    note(verdict.summary())
    assert verdict.ok
    # Entries at the kink are not failed whatever FD says; hand and JAX must still agree there,
    # both taking the left derivative at 0: relu'(0) = 0, leaky_relu'(0) = slope.
    for entry in verdict.entries:
        if entry.status == "non-differentiable here":
            assert abs(entry.hand - entry.jax) <= entry.tol_jax, entry.describe()


def _with_loss(spec: Spec, loss: str) -> Spec:
    return _with(spec, loss=loss)


def _with(spec: Spec, **fields: object) -> Spec:
    data = spec.model.model_dump(exclude_none=True)
    return parse_spec({**data, **fields}, "<with-loss>")


def _flat(grads: Params) -> np.ndarray:
    parts = [np.ravel(np.asarray(a, dtype=np.float64)) for layer in grads for a in layer.values()]
    return np.concatenate(parts) if parts else np.zeros(0)


def _assert_close(got: Params, want: Params, rtol: float = 1e-10) -> None:
    """Equal up to rounding: ``rtol``, plus an absolute ``1e-2 rtol`` of the largest entry (or
    of 1) for entries that are ~0 by cancellation, like a shared bias under cross-entropy whose
    terms are O(1) with drawn weights and inputs of O(1)."""
    floor = 1e-2 * rtol * max(1.0, float(np.max(np.abs(_flat(want)), initial=0.0)))
    assert_params_close(got, want, rtol=rtol, atol=floor + 1e-300)


# The loss invariants below hold for the loss alone: these networks have no weight decay
# (test_a_weight_decay_adds_lambda_w_to_the_weights_only checks what one adds).
@INVARIANT
@given(networks(losses=("half_sse", "mse"), dtypes=F64, weight_decay=0.0))
def test_gradient_is_zero_at_a_perfect_fit(case: Case) -> None:
    spec, params, inputs, _ = case
    fit = forward(spec, params, inputs).outs[-1]
    assert np.all(_flat(hand_grads(spec, params, inputs, fit)) == 0.0)
    # JAX's own forward pass rounds differently: its residual is O(eps), not exactly 0.
    np.testing.assert_allclose(_flat(jax_grads(spec, params, inputs, fit)), 0.0, atol=1e-10)


@INVARIANT
@given(networks(dtypes=F64, weight_decay=0.0, kinds=NO_DROPOUT))
def test_duplicating_the_batch_doubles_a_sum_loss_and_keeps_a_mean_loss(case: Case) -> None:
    spec, params, inputs, targets = case
    # half_sse and sse sum over samples; mse and the cross-entropies average
    factor = 2.0 if LOSSES[spec.loss].reduction.startswith("sum over samples") else 1.0
    twice = (np.concatenate([inputs, inputs]), np.concatenate([targets, targets]))
    for grad in (hand_grads, jax_grads):
        once = grad(spec, params, inputs, targets)
        doubled = grad(spec, params, *twice)
        scaled = [{k: factor * a for k, a in layer.items()} for layer in once]
        _assert_close(doubled, scaled)


@INVARIANT
@given(networks(losses=("half_sse",), dtypes=F64, weight_decay=0.0))
def test_mse_gradient_is_half_sse_gradient_times_two_over_n(case: Case) -> None:
    spec, params, inputs, targets = case
    mse = _with_loss(spec, "mse")
    n = targets.size
    for grad in (hand_grads, jax_grads):
        sse = grad(spec, params, inputs, targets)
        want = [{k: (2.0 / n) * a for k, a in layer.items()} for layer in sse]
        _assert_close(grad(mse, params, inputs, targets), want)


def _all_trainable(spec: Spec) -> Spec:
    data: dict[str, Any] = spec.model.model_dump(exclude_none=True)
    for layer in data["layers"]:
        layer["trainable"] = True
        layer["bias"]["trainable"] = True
    return parse_spec(data, "<all-trainable>")


@INVARIANT
@given(
    networks(batch_size=(1, 3), dtypes=F64, kinds=("dense",)).filter(
        lambda c: any(c.spec.frozen_params())
    )
)
def test_frozen_groups_get_no_update_in_numpy_training(case: Case) -> None:
    spec = case.spec
    steps = 3
    trained, _ = train_numpy(spec, steps)
    # The same training on a twin where every group is trainable, discarding the frozen
    # groups' updates by hand: frozen values stay put and the trainable updates are identical.
    twin = _all_trainable(spec)
    full = twin.initial_params()
    for _ in range(steps):
        stepped = sgd_step(
            full, hand_grads(twin, full, spec.inputs(), spec.targets()), spec.learning_rate
        )
        full = [
            {k: (stepped[i][k] if spec.is_trainable(i, k) else full[i][k]) for k in full[i]}
            for i in range(len(full))
        ]
    for i, frozen in enumerate(spec.frozen_params()):
        assert set(trained[i]) == set(case.params[i]), "no frozen group in the trained params"
        for k, a in frozen.items():
            np.testing.assert_array_equal(full[i][k], a)
        for k, a in trained[i].items():
            np.testing.assert_array_equal(a, full[i][k])


@INVARIANT
@given(networks(dtypes=F64, weight_decay=0.0))
def test_a_weight_decay_adds_lambda_w_to_the_weights_only(case: Case) -> None:
    spec, params, inputs, targets = case
    decayed = _with(spec, weight_decay=0.5)
    for grad in (hand_grads, jax_grads):
        plain = grad(spec, params, inputs, targets)
        want = [
            {k: a + 0.5 * params[i][k] if k in spec.decayed[i] else a for k, a in layer.items()}
            for i, layer in enumerate(plain)
        ]
        _assert_close(grad(decayed, params, inputs, targets), want)
