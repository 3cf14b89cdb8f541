"""The network in ``jax.numpy``: activations, losses and layer kinds, registered by name.

Written apart from :mod:`gradcheck.hand` (the code under test) and from the finite-difference
network. The JAX oracle (:mod:`gradcheck.oracles.jax_grad`) differentiates it with
``jax.value_and_grad``; the training step (:mod:`gradcheck.training.jax_step`) trains with it.
Both are JAX and neither is the code under test, so they share it.

Layer kinds: ``kind(groups, x, options)``; dense is written here (the padded oracle packs it),
and residual (``x + F(x)``, ``F`` the block's inner layers through this registry's own kinds and
activations, their groups named ``"j.G"``); the others call the reference forwards of
:mod:`gradcheck.oracles.jax_layers`.

Conventions: an activation is ``act(z, slope, mask)`` where ``mask`` marks the real units of a
width padded with dead ones (``True``: every unit is real); a loss is ``E(net, out, t, weight,
mask, count)`` where ``weight`` (0 or 1 per entry) drops padded samples and units and ``count``
is the number of real entries (samples times outputs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradcheck.layers import KINDS, Registry
from gradcheck.layers.dropout import dropout_mask
from gradcheck.layers.residual import inner_groups
from gradcheck.oracles.jax_layers import JAX_LAYERS

__all__ = ["JAX_ACTIVATIONS", "JAX_KINDS", "JAX_LOSSES", "dense_net"]

JAX_ACTIVATIONS: Registry[Callable[[Any, Any, Any], Any]] = Registry("JAX network", "activation")
JAX_LOSSES: Registry[Callable[..., Any]] = Registry("JAX network", "loss")
JAX_KINDS: Registry[Callable[[dict[str, Any], Any, dict[str, Any]], Any]] = Registry(
    "JAX network", "layer kind"
)


def _softmax(z: Any, slope: Any, mask: Any) -> Any:
    return jax.nn.softmax(jnp.where(mask, z, -1e30), axis=-1)  # padded units get e^-1e30 = 0


JAX_ACTIVATIONS.add("identity", lambda z, slope, mask: z)
JAX_ACTIVATIONS.add("sigmoid", lambda z, slope, mask: jax.nn.sigmoid(z))
JAX_ACTIVATIONS.add("tanh", lambda z, slope, mask: jnp.tanh(z))
# where(), not maximum(): the derivative at 0 is the left one (0, and slope), as documented.
JAX_ACTIVATIONS.add("relu", lambda z, slope, mask: jnp.where(z > 0, z, jnp.zeros_like(z)))
JAX_ACTIVATIONS.add("leaky_relu", lambda z, slope, mask: jnp.where(z > 0, z, slope * z))
JAX_ACTIVATIONS.add("softplus", lambda z, slope, mask: jnp.logaddexp(z, 0.0))
JAX_ACTIVATIONS.add("elu", lambda z, slope, mask: jax.nn.elu(z))
JAX_ACTIVATIONS.add("softmax", _softmax)


def _cross_entropy(net: Any, out: Any, t: Any, weight: Any, mask: Any, count: Any) -> Any:
    log_p = jax.nn.log_softmax(jnp.where(mask, net, -1e30), axis=-1)
    return -jnp.sum(weight * t * log_p) / (count / jnp.sum(mask))  # count / n_out = batch


def _binary_cross_entropy(net: Any, out: Any, t: Any, weight: Any, mask: Any, count: Any) -> Any:
    terms = jnp.logaddexp(net, 0.0) - t * net  # -t log sigmoid(net) - (1 - t) log(1 - sigmoid)
    return jnp.sum(weight * terms) / (count / jnp.sum(mask))  # count / n_out = batch


def _svm(net: Any, out: Any, t: Any, weight: Any, mask: Any, count: Any) -> Any:
    margins = out - jnp.sum(t * out, axis=-1, keepdims=True) + 1.0  # s_j - s_y + 1
    hinge = jnp.where(margins > 0, margins, jnp.zeros_like(margins))  # derivative 0 at 0
    return jnp.sum(weight * (1.0 - t) * hinge) / (count / jnp.sum(mask))  # count / n_out = batch


JAX_LOSSES.add(
    "half_sse", lambda net, out, t, weight, mask, count: 0.5 * jnp.sum(weight * (out - t) ** 2)
)
JAX_LOSSES.add("sse", lambda net, out, t, weight, mask, count: jnp.sum(weight * (out - t) ** 2))
JAX_LOSSES.add(
    "mse", lambda net, out, t, weight, mask, count: jnp.sum(weight * (out - t) ** 2) / count
)
JAX_LOSSES.add("softmax_cross_entropy", _cross_entropy)
JAX_LOSSES.add("binary_cross_entropy", _binary_cross_entropy)
JAX_LOSSES.add("svm", _svm)


def dense_net(layer: dict[str, Any], x: Any) -> Any:
    """``net = x @ W.T + b`` (``b`` a scalar for a shared bias, absent for none)."""
    z = x @ layer["W"].T
    return z + layer["b"] if "b" in layer else z


JAX_KINDS.add("dense", lambda layer, x, options: dense_net(layer, x))


def _reference(name: str) -> Callable[[dict[str, Any], Any, dict[str, Any]], Any]:
    """Kind ``name``'s forward from :mod:`.jax_layers`, in this registry's argument order."""
    forward = JAX_LAYERS[name]
    return lambda layer, x, options: forward(x, layer, options)


def _dropout(layer: dict[str, Any], x: Any, options: dict[str, Any]) -> Any:
    """The reference dropout with the spec's fixed mask, drawn over the (static) batch shape."""
    rate = float(options["rate"])
    mask = dropout_mask(int(options["seed"]), rate, tuple(x.shape))
    return JAX_LAYERS["dropout"](x, layer, {"mask": mask, "rate": rate})


def _residual(layer: dict[str, Any], x: Any, options: dict[str, Any]) -> Any:
    """``x + o_J`` with ``o_j = act_j(kind_j(o_{j-1}))``, ``o_0 = x``: the block's inner layers."""
    out = x
    for j, (kind, inner_options, act, slope) in enumerate(options["layers"]):
        net = JAX_KINDS[kind](inner_groups(layer, j), out, dict(inner_options))
        out = JAX_ACTIVATIONS[act](net, slope, True)
    return x + out


JAX_KINDS.add("dropout", _dropout)
JAX_KINDS.add("residual", _residual)
for _name in KINDS:  # every other kind: the reference forward of :mod:`.jax_layers`
    if _name not in ("dense", "dropout", "residual"):
        JAX_KINDS.add(_name, _reference(_name))
