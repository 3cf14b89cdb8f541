"""The Python program of seed document 000 (linear 2-2-1, lr 0.05), re-expressed as a candidate.

The document updates the output weights first and then, for the hidden weights, multiplies the
error by input ``k`` and by the *already-updated* output weight number ``k`` (two column vectors
multiplied elementwise and broadcast over every hidden unit). Read back as a gradient,
``(w - w_new) / lr``, that gives

* output layer: ``dE/dv_j = err * h_j`` (right);
* hidden layer: ``dE/dW[j, k] = err * x_k * v'_k`` with ``v' = v - lr * err * h``, the same for
  every hidden unit ``j`` (wrong twice: the right value is ``err * x_k * v_j`` with the old ``v``).

Check it with ``gradcheck verify networks/linear_2_2_1.toml --candidate
examples/seed_code_candidate.py:grads``. Like the document it trains on the first sample only
and handles linear 2-k-1 networks without biases.
"""

from __future__ import annotations

import numpy as np

from gradcheck.spec import Array, Params, Spec


def grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """The document's update as a gradient, shaped like ``params`` (two weight layers)."""
    x = np.asarray(inputs, dtype=spec.dtype)[0]
    w_hidden, v = params[0]["W"], params[1]["W"][0]  # (n_hidden, n_in), (n_hidden,)
    hidden = w_hidden @ x
    err = v @ hidden - np.asarray(targets, dtype=spec.dtype)[0, 0]
    grad_v = err * hidden
    v_updated = v - spec.learning_rate * grad_v
    # NumPy broadcasting pairs input k with output weight k (the last one if there is only one).
    paired = v_updated[np.minimum(np.arange(x.size), v.size - 1)]
    grad_w = np.broadcast_to(err * x * paired, w_hidden.shape).copy()
    return [{"W": grad_w}, {"W": grad_v[None, :]}]
