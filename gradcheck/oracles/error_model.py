"""How far two correct computations of ``E`` and ``dE/dparams`` may round apart: an error model.

* :func:`rounding_noise` bounds the rounding noise of ``E`` itself: ``kappa L sqrt(max width)
  eps`` times the magnitude of the terms the loss sums (it sets the finite-difference error).
* :func:`term_magnitudes` runs the delta rule on absolute values: ``|delta_L|`` from the loss's
  terms (``|out| + |t|`` for ``out - t``), ``|delta_l| = (|delta_{l+1}| @ |W_{l+1}|) |act_l'|``
  with ``act'`` as the magnitude of its terms (tanh ``1 + o^2``, sigmoid ``o (1 + o)``: ``1 - o``
  cancels as ``o -> 1``), ``m_W = |delta|.T @ |out_{l-1}|``, ``m_b = sum |delta|``. Where nothing
  cancels ``m = |grad|``; where terms cancel it is their size, which the rounding scales with.

Each activation and loss is registered here on its own (a fourth side beside hand, FD and JAX),
over the finite-difference oracle's float64 forward pass (:mod:`gradcheck.oracles.fd_network`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradcheck.layers import Registry
from gradcheck.oracles.fd_network import FD_ACTIVATIONS, Base
from gradcheck.spec import Params, Spec

__all__ = ["ERROR_ACTIVATIONS", "ERROR_LOSSES", "LossTerms", "rounding_noise", "term_magnitudes"]

_EPS64 = float(np.finfo(np.float64).eps)
_KAPPA = 2.0

# |g| through the activation: (g, z, o, slope) -> |g| * |act'| on the magnitudes of its terms.
ERROR_ACTIVATIONS: Registry[Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]] = (
    Registry("error model", "activation")
)
ERROR_ACTIVATIONS.add("identity", lambda g, z, o, s: g)
ERROR_ACTIVATIONS.add("sigmoid", lambda g, z, o, s: g * o * (1.0 + o))
ERROR_ACTIVATIONS.add("tanh", lambda g, z, o, s: g * (1.0 + o * o))
ERROR_ACTIVATIONS.add("relu", lambda g, z, o, s: g * (z > 0))
ERROR_ACTIVATIONS.add("leaky_relu", lambda g, z, o, s: g * np.where(z > 0, 1.0, abs(s)))
ERROR_ACTIVATIONS.add("softplus", lambda g, z, o, s: g * FD_ACTIVATIONS["sigmoid"](z, 0.0))
ERROR_ACTIVATIONS.add("elu", lambda g, z, o, s: g * np.exp(np.minimum(z, 0.0)))
ERROR_ACTIVATIONS.add(
    "softmax",
    lambda g, z, o, s: np.abs(o) * (g + np.sum(g * np.abs(o), axis=-1, keepdims=True)),
)


@dataclass(frozen=True)
class LossTerms:
    """``output(net, out, t)``: the term magnitudes of ``dE/dout`` (or of ``dE/dnet`` where
    ``fused`` names the output activation the loss is written with); ``size(net, out, t)``: the
    magnitude of the terms ``E`` sums."""

    output: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    size: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    fused: str | None = None


ERROR_LOSSES: Registry[LossTerms] = Registry("error model", "loss")


def _squares_size(norm: Callable[[np.ndarray], float]) -> Callable[..., float]:
    return lambda net, out, t: (
        norm(t) * float(np.sum(np.abs(out - t) * (np.abs(out) + np.abs(t) + 1.0)))
    )


def _cross_entropy_terms(net: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``dE/dnet = (softmax(net) * sum_k t_k - t) / B`` on the magnitudes of its terms."""
    p = np.abs(FD_ACTIVATIONS["softmax"](net, 0.0))
    return np.asarray((p * t.sum(axis=-1, keepdims=True) + t) / t.shape[0])


ERROR_LOSSES.add(
    "half_sse", LossTerms(lambda net, o, t: np.abs(o) + np.abs(t), _squares_size(lambda t: 0.5))
)
ERROR_LOSSES.add(
    "mse",
    LossTerms(
        lambda net, o, t: 2.0 * (np.abs(o) + np.abs(t)) / t.size,
        _squares_size(lambda t: 2.0 / t.size),
    ),
)
ERROR_LOSSES.add(
    "softmax_cross_entropy",
    LossTerms(
        _cross_entropy_terms,
        lambda net, out, t: float(np.sum(np.abs(t)) * (np.max(np.abs(net)) + 1.0)) / t.shape[0],
        fused="softmax",
    ),
)


def rounding_noise(spec: Spec, base: Base) -> float:
    """A bound on the rounding noise of ``E``: ``kappa eps`` times the magnitude the loss sums."""
    size = ERROR_LOSSES[spec.loss].size(base.nets[-1], base.outs[-1], base.targets)
    kappa = _KAPPA * len(spec.activations) * float(np.sqrt(max(spec.sizes)))
    return float(kappa * _EPS64 * size)


def _through_activation(spec: Spec, i: int, base: Base, g: np.ndarray) -> np.ndarray:
    through = ERROR_ACTIVATIONS[spec.activations[i]]
    return np.asarray(through(g, base.nets[i], base.outs[i + 1], spec.slopes[i]))


def term_magnitudes(spec: Spec, params: Params, base: Base) -> Params:
    """The delta rule on absolute values, per trainable entry, shaped like ``params``."""
    loss = ERROR_LOSSES[spec.loss]
    last = len(base.nets) - 1
    delta = loss.output(base.nets[-1], np.abs(base.outs[-1]), np.abs(base.targets))
    if loss.fused != spec.activations[last]:
        delta = _through_activation(spec, last, base, delta)
    magnitudes: Params = [{} for _ in params]
    for i in reversed(range(len(params))):
        if "W" in params[i]:
            magnitudes[i]["W"] = delta.T @ np.abs(base.outs[i])
        if "b" in params[i]:
            per_neuron = delta.sum(axis=0)
            shared = not np.ndim(params[i]["b"])
            magnitudes[i]["b"] = np.asarray(per_neuron.sum()) if shared else per_neuron
        if i > 0:
            delta = _through_activation(spec, i - 1, base, delta @ np.abs(base.layers[i]["W"]))
    return magnitudes
