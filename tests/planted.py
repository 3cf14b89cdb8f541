"""Planted bugs: gradient functions that are wrong on purpose, each in one known way.

Every candidate has the :data:`gradcheck.spec.GradientFn` signature. :func:`delta_rule` is a
small, correct delta-rule backprop with the two places bugs usually live (the activation
derivative and the weight gradient) as arguments, so each planted bug differs from a candidate
that passes in exactly one line. The seed document's program lives in
``examples/seed_code_candidate.py`` (it doubles as the README demo) and is loaded from there.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gradcheck.errors import Unsupported
from gradcheck.hand.activations import HAND_ACTIVATIONS
from gradcheck.hand.backprop import backward, forward, full_params
from gradcheck.hand.losses import HAND_LOSSES
from gradcheck.spec import Array, GradientFn, Params, Spec

Derivative = Callable[[str, Array, Array, float], Array]
WeightGrad = Callable[[Array, Array], Array]


def right_derivative(act: str, net: Array, out: Array, slope: float) -> Array:
    """``act'(net)`` from the activation table (sigmoid: ``out (1 - out)``)."""
    return HAND_ACTIVATIONS[act].derivative(net, out, slope)


def right_weight_grad(delta: Array, below: Array) -> Array:
    """``dE/dW = delta^T out_below``: one row per output neuron, like ``W``."""
    return delta.T @ below


def delta_rule(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    derivative: Derivative = right_derivative,
    weight_grad: WeightGrad = right_weight_grad,
) -> Params:
    """``delta_L = dE/dout * act'(net)``, ``delta_l = (delta_{l+1} W_{l+1}) * act'(net_l)``.

    Elementwise activations and the squared losses only (no softmax), like most hand-written
    backprop; gradients for the trainable groups, shaped like ``params``.
    """
    if "softmax" in spec.activations:  # reported unsupported, so the search draws on
        raise Unsupported("delta_rule handles elementwise activations only")
    fwd = forward(spec, params, inputs)
    layers = full_params(spec, params)
    upstream = HAND_LOSSES[spec.loss].gradient(fwd.outs[-1], np.asarray(targets, dtype=spec.dtype))
    grads: Params = [{} for _ in layers]
    for i in reversed(range(len(layers))):
        act, slope = spec.activations[i], spec.slopes[i]
        delta = upstream * derivative(act, fwd.nets[i], fwd.outs[i + 1], slope)
        if "W" in params[i]:  # + lambda W where the spec has a weight decay
            grads[i]["W"] = weight_grad(delta, fwd.outs[i]) + spec.weight_decay * layers[i]["W"]
        if "b" in params[i]:
            per_neuron = delta.sum(axis=0)
            grads[i]["b"] = per_neuron if params[i]["b"].ndim else np.asarray(per_neuron.sum())
        upstream = delta @ layers[i]["W"]
    return grads


def sigmoid_derivative_at_out(act: str, net: Array, out: Array, slope: float) -> Array:
    """Bug: ``sigmoid'`` evaluated at the unit's output instead of its pre-activation."""
    if act == "sigmoid":
        s = HAND_ACTIVATIONS["sigmoid"].value(out, slope)
        return s * (1.0 - s)
    return right_derivative(act, net, out, slope)


def weight_grad_untransposed(delta: Array, below: Array) -> Array:
    """Bug: ``out_below^T delta`` (shape ``(n_in, n_out)``) reshaped to fit ``W``."""
    return (below.T @ delta).reshape(delta.shape[1], below.shape[1])


def wrong_sigmoid_derivative(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Planted: sigmoid' taken at out, ``sigmoid(out) (1 - sigmoid(out))``."""
    return delta_rule(spec, params, inputs, targets, derivative=sigmoid_derivative_at_out)


def missing_transpose(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Planted: ``dE/dW`` computed as ``out^T delta`` and reshaped instead of transposed."""
    return delta_rule(spec, params, inputs, targets, weight_grad=weight_grad_untransposed)


def shared_bias_not_summed(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Planted: a shared bias gets only neuron 0's delta, not the sum over the layer's neurons."""
    bwd = backward(spec, params, forward(spec, params, inputs), targets)
    grads = [dict(g) for g in bwd.grads]
    for i, g in enumerate(grads):
        if "b" in g and g["b"].ndim == 0:
            g["b"] = np.asarray(bwd.deltas[i][:, 0].sum(), dtype=spec.dtype)
    return grads


def frozen_group_updated(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Planted: gradients for frozen groups too, as if every group were trainable."""
    fwd = forward(spec, params, inputs)
    bwd = backward(spec, params, fwd, targets)
    grads = [dict(g) for g in bwd.grads]
    for i, frozen in enumerate(spec.frozen_params()):
        if "W" in frozen:
            grads[i]["W"] = bwd.deltas[i].T @ fwd.outs[i]
        if "b" in frozen:
            per_neuron = bwd.deltas[i].sum(axis=0)
            grads[i]["b"] = per_neuron if frozen["b"].ndim else np.asarray(per_neuron.sum())
    return grads


SEED_CODE_PATH = Path(__file__).resolve().parents[1] / "examples" / "seed_code_candidate.py"


def _load_seed_candidate() -> GradientFn:
    module_spec = importlib.util.spec_from_file_location("seed_code_candidate", SEED_CODE_PATH)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    fn: GradientFn = module.grads
    return fn


seed_code = _load_seed_candidate()
