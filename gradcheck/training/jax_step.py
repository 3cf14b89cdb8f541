"""One full-batch training step as a pure ``jax.numpy`` function, for
:mod:`gradcheck.training.runner`.

Contract: the network's own forward pass and loss (sharing nothing with
:mod:`gradcheck.hand.backprop`), and the two update rules as ``step((params, state)) ->
((params, state), loss before the step)``: ``gradient`` (optax, or plain SGD written out) and
``output-first`` (SGD from the output layer down through the already updated weights above),
registered in :data:`UPDATE_RULES` under the names :mod:`gradcheck.layers.update_rules` declares.
The objective is the loss plus the weight decay ``lambda/2 sum W^2`` over every layer's decayed
groups (:func:`objective`), frozen ones included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from gradcheck.layers import GRADIENT_DESCENT, KINDS, OUTPUT_FIRST, Registry
from gradcheck.oracles.jax_network import JAX_ACTIVATIONS, JAX_KINDS, JAX_LOSSES

__all__ = [
    "MOMENTUM",
    "OPTIMIZERS",
    "UPDATE_RULES",
    "Net",
    "Step",
    "Tree",
    "decay",
    "forward",
    "gradient_step",
    "loss",
    "merge",
    "objective",
    "output_first_step",
    "transform",
]

MOMENTUM = 0.9

Tree = Any  # a pytree of jax arrays shaped like Params (or an optax state)
Step = Callable[[tuple[Tree, Tree]], tuple[tuple[Tree, Tree], jax.Array]]


class Net(NamedTuple):
    """What the compiled code needs to know about a network besides array shapes."""

    kinds: tuple[str, ...]
    activations: tuple[str, ...]
    slopes: tuple[float, ...]
    loss: str
    weight_decay: float = 0.0
    options: tuple[Any, ...] = ()  # each layer's forward settings (Spec.options); () for dense
    decayed: tuple[frozenset[str], ...] = ()  # each layer's decayed groups (Spec.decayed)


def merge(params: Tree, frozen: Tree) -> list[dict[str, jax.Array]]:
    """Every layer's trainable and frozen groups in one dict."""
    return [{**f, **p} for p, f in zip(params, frozen, strict=True)]


def _activation(net: Net, i: int) -> Callable[[jax.Array], jax.Array]:
    """Layer ``i``'s activation over all its units (none padded)."""
    act, slope = JAX_ACTIVATIONS[net.activations[i]], net.slopes[i]
    return lambda z: act(z, slope, True)


def forward(
    net: Net, layers: list[dict[str, jax.Array]], x: jax.Array
) -> tuple[list[jax.Array], list[jax.Array]]:
    """``nets[l-1] = net_l`` and ``outs[l] = act_l(net_l)`` for every layer; ``outs[0] = x``."""
    nets: list[jax.Array] = []
    outs = [x]
    for i, (layer, kind) in enumerate(zip(layers, net.kinds, strict=True)):
        nets.append(JAX_KINDS[kind](layer, outs[-1], _options(net, i)))
        outs.append(_activation(net, i)(nets[-1]))
    return nets, outs


def _options(net: Net, i: int) -> dict[str, Any]:
    return dict(net.options[i]) if net.options else {}


def _decayed(net: Net, i: int) -> frozenset[str]:
    """Layer ``i``'s decayed groups: the spec's (a residual block's are its inner layers')."""
    return net.decayed[i] if net.decayed else KINDS[net.kinds[i]].decayed


def loss(net: Net, z: jax.Array, t: jax.Array) -> jax.Array:
    """The spec's loss from the output layer's net input ``z`` (``o = act_L(z)``)."""
    o = _activation(net, len(net.activations) - 1)(z)
    every = jnp.ones(z.shape[-1], dtype=bool)
    value: jax.Array = JAX_LOSSES[net.loss](z, o, t, 1.0, every, float(z.size))
    return value


def decay(net: Net, layers: list[dict[str, jax.Array]]) -> jax.Array:
    """``lambda/2 sum W^2`` over every layer's decayed groups (its kind's declaration)."""
    squares = [
        jnp.sum(layer[g] * layer[g])
        for i, layer in enumerate(layers)
        for g in sorted(_decayed(net, i) & set(layer))
    ]
    total: jax.Array = net.weight_decay / 2 * sum(squares, jnp.zeros(()))
    return total


def objective(net: Net, layers: list[dict[str, jax.Array]], z: jax.Array, t: jax.Array) -> Any:
    """What training minimises: :func:`loss` at the output net ``z`` plus :func:`decay`."""
    return loss(net, z, t) + decay(net, layers) if net.weight_decay else loss(net, z, t)


def _total_loss(net: Net, params: Tree, frozen: Tree, x: jax.Array, t: jax.Array) -> jax.Array:
    layers = merge(params, frozen)
    value: jax.Array = objective(net, layers, forward(net, layers, x)[0][-1], t)
    return value


OPTIMIZERS: Registry[Callable[[Any], optax.GradientTransformation]] = Registry(
    "JAX training", "optimizer"
)
OPTIMIZERS.add("sgd", lambda lr: optax.sgd(lr))
OPTIMIZERS.add("momentum", lambda lr: optax.sgd(lr, momentum=MOMENTUM))
OPTIMIZERS.add("adam", lambda lr: optax.adam(lr))


def transform(optimizer: str, lr: Any) -> optax.GradientTransformation:
    """The optax update of ``optimizer``: sgd, sgd with momentum 0.9, or adam's defaults."""
    return OPTIMIZERS[optimizer](lr)


def gradient_step(
    net: Net, optimizer: str, lr: jax.Array, frozen: Tree, x: jax.Array, t: jax.Array
) -> Step:
    """True gradient descent: ``p <- p - lr g`` for sgd, else optax's update of ``g``."""
    tx = transform(optimizer, lr)

    def step(carry: tuple[Tree, Tree]) -> tuple[tuple[Tree, Tree], jax.Array]:
        params, state = carry
        value, grads = jax.value_and_grad(_total_loss, argnums=1)(net, params, frozen, x, t)
        if optimizer == "sgd":  # written out: optax's chain costs compile time for nothing
            return (jax.tree.map(lambda p, g: p - lr * g, params, grads), state), value
        updates, state = tx.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), value

    return step


def output_first_step(
    net: Net, optimizer: str, lr: jax.Array, frozen: Tree, x: jax.Array, t: jax.Array
) -> Step:
    """SGD from the output layer down; ``delta_l = J_act_l^T (delta_{l+1} @ W_{l+1}^new)``
    (plain SGD only: ``optimizer`` must be ``sgd``, which the caller checks)."""

    def step(carry: tuple[Tree, Tree]) -> tuple[tuple[Tree, Tree], jax.Array]:
        params, state = carry
        layers = merge(params, frozen)
        nets, outs = forward(net, layers, x)
        value, delta = jax.value_and_grad(lambda z: objective(net, layers, z, t))(nets[-1])
        new = list(params)
        for i in reversed(range(len(layers))):
            if i < len(layers) - 1:
                _, act_vjp = jax.vjp(_activation(net, i), nets[i])
                delta = act_vjp(delta @ {**frozen[i + 1], **new[i + 1]}["W"])[0]
            kind = JAX_KINDS[net.kinds[i]]
            _, affine_vjp = jax.vjp(lambda g, k=kind, below=outs[i]: k(g, below, {}), layers[i])
            grads = affine_vjp(delta)[0]
            for g in _decayed(net, i) & set(grads) if net.weight_decay else ():
                grads[g] = grads[g] + net.weight_decay * layers[i][g]  # d/dW lambda/2 W^2
            new[i] = {k: v - lr * grads[k] for k, v in params[i].items()}
        return (new, state), value

    return step


UPDATE_RULES: Registry[Callable[..., Step]] = Registry("JAX training", "update rule")
UPDATE_RULES.add(GRADIENT_DESCENT, gradient_step)
UPDATE_RULES.add(OUTPUT_FIRST, output_first_step)
