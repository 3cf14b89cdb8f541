"""Every declared activation and loss works end to end: the spec loads, the hand-derived
gradients verify against both oracles, and JAX training matches the NumPy loop step for step.

Parametrised from the declarations, so a newly declared name is checked here without an edit.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import make_spec

from gradcheck.checking.training_agreement import judge_training
from gradcheck.checking.verification import verify
from gradcheck.hand import hand_grads
from gradcheck.hand.activations import HAND_ACTIVATIONS
from gradcheck.layers import ACTIVATIONS, LOSSES
from gradcheck.spec import Spec
from gradcheck.training.runner import train

HIDDEN = [name for name, a in ACTIVATIONS.items() if not a.output_only]
# Pre-activations of the hidden layer stay away from 0 (no kink inside the FD stencil) and
# cover both signs: [0.9, -1.1] and [-0.35, 0.35] for the two samples.
WEIGHTS = [[0.5, -0.2], [-0.3, 0.4]]
INPUTS = [[1.0, -2.0], [-0.5, 0.5]]


def _network(hidden: str, loss: str, dtype: str = "float64") -> Spec:
    output = LOSSES[loss].output_activation or "sigmoid"
    slope = {"slope": 0.1} if ACTIVATIONS[hidden].takes_slope else {}
    one_hot = LOSSES[loss].output_activation is not None
    return make_spec(
        [
            {"size": 2, "activation": hidden, "weights": WEIGHTS, **slope},
            {
                "size": 2,
                "activation": output,
                "weights": [[0.6, -0.1], [0.2, 0.7]],
                "bias": {"mode": "per_neuron", "value": [0.1, -0.2]},
            },
        ],
        INPUTS,
        [[1.0, 0.0], [0.0, 1.0]] if one_hot else [[0.3, 0.8], [0.6, 0.1]],
        name=f"{hidden}-{loss}",
        loss=loss,
        dtype=dtype,
    )


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("hidden", HIDDEN)
def test_hand_gradients_verify_for_every_declared_activation_and_loss(
    hidden: str, loss: str
) -> None:
    verdict = verify(hand_grads, _network(hidden, loss))
    assert verdict.ok, verdict.summary()
    assert verdict.counts.get("ok", 0) == verdict.n_params


@pytest.mark.parametrize("hidden", HIDDEN)
def test_jax_training_matches_numpy_for_every_declared_activation(hidden: str) -> None:
    spec = _network(hidden, "half_sse")
    runs = [train(spec, 20, backend=b, device="cpu") for b in ("jax", "numpy")]
    agreement = judge_training(
        "float64",
        jax_losses=runs[0].loss_history,
        numpy_losses=runs[1].loss_history,
        jax_params=runs[0].params,
        numpy_params=runs[1].params,
    )
    assert agreement.agree, agreement
    assert runs[0].loss_history[-1] < runs[0].loss_history[0]  # it trains


@pytest.mark.parametrize("hidden", HIDDEN)
def test_a_wrong_derivative_of_every_declared_activation_is_a_backprop_bug(
    hidden: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    right = HAND_ACTIVATIONS[hidden]
    wrong = replace(right, derivative=lambda z, o, s: 1.5 * right.derivative(z, o, s))
    monkeypatch.setitem(HAND_ACTIVATIONS._entries, hidden, wrong)  # the hand side only
    verdict = verify(hand_grads, _network(hidden, "half_sse"))
    assert not verdict.ok
    assert {e.status for e in verdict.failures} == {"backprop-bug"}
    assert {e.location for e in verdict.failures} >= {"layer 1 W[0,0]"}
