"""A fixed 2-layer MLP, as course code often is: x -> sigmoid(W1 x + b1) -> W2 h + b2, loss
1/2 sum (y - t)^2. It supports one architecture, declared in ``two_layer_family.toml``; for any
other network it raises ``gradcheck.Unsupported``, so gradcheck reports it unsupported instead
of failed. Check it on networks drawn from its family::

    gradcheck verify --family examples/two_layer_family.toml \
        --candidate examples/two_layer_mlp.py:grads --examples 20
"""

from __future__ import annotations

import numpy as np

from gradcheck import Unsupported


def grads(spec, params, inputs, targets):
    """dE/dW1, dE/db1, dE/dW2, dE/db2 for a batch (rows are samples)."""
    if spec.activations != ("sigmoid", "identity") or spec.loss != "half_sse":
        raise Unsupported(f"only sigmoid -> identity with half_sse (got {spec.activations})")
    if spec.bias_modes != ("per_neuron", "per_neuron"):
        raise Unsupported(f"only per-neuron biases (got {spec.bias_modes})")
    if spec.weight_decay:
        raise Unsupported(f"no weight decay (got weight_decay = {spec.weight_decay})")
    (l1, l2), x, t = params, inputs, targets
    if set(l1) != {"W", "b"} or set(l2) != {"W", "b"}:
        raise Unsupported("every weight and bias trainable")
    h = 1.0 / (1.0 + np.exp(-(x @ l1["W"].T + l1["b"])))  # (batch, hidden)
    y = h @ l2["W"].T + l2["b"]  # (batch, out)
    d2 = y - t  # dE/dy, and dE/dz2 (identity output)
    d1 = (d2 @ l2["W"]) * h * (1.0 - h)  # dE/dz1 through sigmoid' = h (1 - h)
    return [
        {"W": d1.T @ x, "b": d1.sum(axis=0)},
        {"W": d2.T @ h, "b": d2.sum(axis=0)},
    ]
