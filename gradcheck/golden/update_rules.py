"""Alternative update rules: hypotheses about how a document got its numbers, not product code.

Each rule has the :data:`~gradcheck.spec.GradientFn` signature and returns what it would apply
as ``dE/dparam`` in one SGD step; true gradient descent is
:func:`gradcheck.hand.backprop.hand_grads`. A rule that does not fit a network's shape raises
:class:`NotApplicable`.
"""

from __future__ import annotations

import numpy as np

from gradcheck.hand import backward, forward, full_params, hand_grads
from gradcheck.layers import GRADIENT_DESCENT, OUTPUT_FIRST, UPDATE_RULES
from gradcheck.spec import Array, GradientFn, Params, Spec, parse_spec

__all__ = [
    "RULES",
    "NotApplicable",
    "code_layout_grads",
    "output_first_grads",
    "with_trained_biases",
]


class NotApplicable(Exception):
    """The rule does not apply to this network's shape."""


def output_first_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Update the top layer first and send each delta down through the *updated* weights:
    ``delta_l = (delta_{l+1} @ (W_{l+1} - lr dE/dW_{l+1})) * act_l'(net_l)``."""
    return _top_down_grads(spec, params, inputs, targets, by_input_index=False)


def code_layout_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """As :func:`output_first_grads`, but a square hidden layer stored transposed pairs each
    weight with its *input's* index: ``dE/dW_l[j, k] = sum_s delta_l[s, k] out_{l-1}[s, k]``."""
    return _top_down_grads(spec, params, inputs, targets, by_input_index=True)


def _top_down_grads(
    spec: Spec, params: Params, inputs: Array, targets: Array, by_input_index: bool
) -> Params:
    fwd = forward(spec, params, inputs)
    bwd = backward(spec, params, fwd, targets)
    layers, n = full_params(spec, params), len(params)
    grads: Params = [{} for _ in range(n)]
    delta, updated_above = bwd.deltas[-1], layers[-1]["W"]
    for i in reversed(range(n)):
        if i < n - 1:
            delta = (delta @ updated_above) * bwd.dout_dnet[i]
        w_grad = delta.T @ fwd.outs[i]
        if by_input_index and i < n - 1:
            if delta.shape[1] != fwd.outs[i].shape[1]:
                raise NotApplicable
            w_grad = np.broadcast_to((delta * fwd.outs[i]).sum(axis=0), w_grad.shape).copy()
        if spec.weight_decay and "W" in spec.decayed[i]:  # + lambda W, as backprop adds it
            w_grad = w_grad + spec.weight_decay * layers[i]["W"]
        if "W" in params[i]:
            grads[i]["W"] = w_grad
        if "b" in params[i]:
            b_grad = delta.sum(axis=0)
            grads[i]["b"] = np.asarray(b_grad.sum()) if params[i]["b"].ndim == 0 else b_grad
        trained = "W" in params[i]
        updated_above = layers[i]["W"] - spec.learning_rate * w_grad if trained else layers[i]["W"]
    return grads


RULES: dict[str, tuple[GradientFn, str]] = {
    # the declared rules, with the declared descriptions, then the golden cases' own hypotheses
    GRADIENT_DESCENT: (hand_grads, UPDATE_RULES[GRADIENT_DESCENT]),
    OUTPUT_FIRST: (output_first_grads, UPDATE_RULES[OUTPUT_FIRST]),
    "code-layout": (
        code_layout_grads,
        "output weights updated first, each hidden weight paired with the updated output "
        "weight of its input's index (a transposed weight array)",
    ),
}


def with_trained_biases(spec: Spec) -> Spec | None:
    """The spec with its frozen biases made trainable, or None if it has none."""
    data = spec.model.model_dump()
    frozen = [ly["bias"] for ly in data["layers"] if ly["bias"]["mode"] != "none"]
    frozen = [b for b in frozen if not b["trainable"]]
    for bias in frozen:
        bias["trainable"] = True
    return parse_spec(data, spec.path) if frozen else None
