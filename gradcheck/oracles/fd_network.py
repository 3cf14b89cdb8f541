"""The finite-difference oracle's own float64 network: activations, losses, layer kinds.

Written apart from :mod:`gradcheck.hand` (which it checks) and from the JAX network, each
registered under the declared names (:mod:`gradcheck.layers`). Perturbed copies of a network
run as one batched pass: ``net`` arrays are ``(copies, batch, n)``. A layer kind tells how a
step ``s`` in one of its parameters moves its pre-activation (dense: ``W[r, c] += s`` moves
``net[:, r]`` by ``s x[:, c]``), so a copy joins the pass at its parameter's layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradcheck.layers import ACTIVATIONS, Registry
from gradcheck.spec import Array, Params, Spec, check_arguments

__all__ = [
    "FD_ACTIVATIONS",
    "FD_KINDS",
    "FD_LOSSES",
    "Base",
    "FDKind",
    "base_pass",
    "stencil_losses",
]

FD_ACTIVATIONS: Registry[Callable[[np.ndarray, float], np.ndarray]] = Registry(
    "finite-difference oracle", "activation"
)
FD_LOSSES: Registry[Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = Registry(
    "finite-difference oracle", "loss"
)


def _sigmoid(z: np.ndarray, slope: float) -> np.ndarray:
    e = np.exp(-np.abs(z))  # 1/(1+e^-z) = e^z/(1+e^z), evaluated on the side without overflow
    out: np.ndarray = np.where(z >= 0, 1.0, e) / (1.0 + e)
    return out


def _softmax(z: np.ndarray, slope: float) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


FD_ACTIVATIONS.add("identity", lambda z, slope: z)
FD_ACTIVATIONS.add("sigmoid", _sigmoid)
FD_ACTIVATIONS.add("tanh", lambda z, slope: np.tanh(z))
FD_ACTIVATIONS.add("relu", lambda z, slope: np.maximum(z, 0.0))
FD_ACTIVATIONS.add("leaky_relu", lambda z, slope: np.where(z > 0, z, slope * z))
FD_ACTIVATIONS.add("softplus", lambda z, slope: np.logaddexp(0.0, z))
FD_ACTIVATIONS.add("elu", lambda z, slope: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))))
FD_ACTIVATIONS.add("softmax", _softmax)


def _cross_entropy(net: np.ndarray, out: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``-(1/B) sum t log softmax(net)`` from the log-sum-exp of ``net``."""
    shifted = net - net.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.asarray(-(t * log_p).sum(axis=(-2, -1)) / t.shape[0])


# E per copy, ``out`` shaped (copies, batch, n).
FD_LOSSES.add("half_sse", lambda net, out, t: np.asarray(0.5 * ((out - t) ** 2).sum(axis=(-2, -1))))
FD_LOSSES.add("mse", lambda net, out, t: np.asarray(((out - t) ** 2).mean(axis=(-2, -1))))
FD_LOSSES.add("softmax_cross_entropy", _cross_entropy)


@dataclass(frozen=True)
class FDKind:
    """``net(layer, x)`` for ``x`` of shape ``(..., n_in)``; ``perturbed(net, x, layer, group,
    flat, steps)``: the pre-activation of one copy per step, ``flat[k]`` moved by ``steps[k]``;
    ``direction(x, group, v, shape)``: how ``net`` moves per unit step along ``v``."""

    net: Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray]
    perturbed: Callable[
        [np.ndarray, np.ndarray, dict[str, np.ndarray], str, np.ndarray, np.ndarray], np.ndarray
    ]
    direction: Callable[[np.ndarray, str, np.ndarray, tuple[int, ...]], np.ndarray]


FD_KINDS: Registry[FDKind] = Registry("finite-difference oracle", "layer kind")


def _dense_net(layer: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    return np.asarray(x @ layer["W"].T + layer.get("b", 0.0))


def _dense_perturbed(
    net: np.ndarray,
    x: np.ndarray,
    layer: dict[str, np.ndarray],
    group: str,
    flat: np.ndarray,
    steps: np.ndarray,
) -> np.ndarray:
    """``W[r, c] += s`` moves ``net[:, r]`` by ``s x[:, c]``, ``b[r] += s`` moves ``net[:, r]``
    by ``s``, a shared ``b += s`` moves all of ``net`` by ``s``."""
    moved = np.repeat(net[None], steps.size, axis=0)
    copy = np.arange(steps.size)
    if group == "W":
        r, c = np.unravel_index(flat, layer["W"].shape)
        moved[copy, :, r] += steps[:, None] * x[:, c].T
    elif layer["b"].ndim == 1:
        moved[copy, :, flat] += steps[:, None]
    else:
        moved += steps[:, None, None]
    return moved


def _dense_direction(
    x: np.ndarray, group: str, v: np.ndarray, shape: tuple[int, ...]
) -> np.ndarray:
    return np.asarray(x @ v.T) if group == "W" else np.broadcast_to(v, shape)


FD_KINDS.add("dense", FDKind(_dense_net, _dense_perturbed, _dense_direction))


@dataclass(frozen=True)
class Base:
    """The unperturbed network in float64: every group, each pre-activation and output."""

    layers: list[dict[str, np.ndarray]]  # every group, trainable and frozen, float64
    nets: list[np.ndarray]  # nets[i]: (batch, n_{i+1})
    outs: list[np.ndarray]  # outs[0]: inputs
    targets: np.ndarray
    loss: float


def base_pass(
    spec: Spec, params: Params, inputs: Array, targets: Array, checked: bool = False
) -> Base:
    """The forward pass at ``params`` (``checked``: the arguments were already checked)."""
    if not checked:
        check_arguments(spec, params, inputs, targets)
    frozen = spec.frozen_params()
    layers = [
        {k: np.asarray(a, dtype=np.float64) for k, a in {**f, **p}.items()}
        for p, f in zip(params, frozen, strict=True)
    ]
    outs = [np.asarray(inputs, dtype=np.float64)]
    nets: list[np.ndarray] = []
    for layer, kind, act, slope in zip(
        layers, spec.kinds, spec.activations, spec.slopes, strict=True
    ):
        nets.append(FD_KINDS[kind].net(layer, outs[-1]))
        outs.append(FD_ACTIVATIONS[act](nets[-1], slope))
    t = np.asarray(targets, dtype=np.float64)
    loss = float(FD_LOSSES[spec.loss](nets[-1][None], outs[-1][None], t)[0])
    return Base(layers, nets, outs, t, loss)


def stencil_losses(
    spec: Spec, base: Base, starts: list[tuple[int, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run perturbed copies to the loss in one batched pass per layer.

    ``starts`` holds, in layer order, ``(l, net)``: copies ``(copies, batch, n_l)`` of layer
    ``l``'s pre-activation (everything below ``l`` is the unperturbed ``base``). Returns ``E``
    per copy (in ``starts`` order) and whether a kinked activation's pre-activation changed sign,
    and did so from 0.
    """
    out = net = np.empty((0, *base.outs[0].shape))
    kink = at_kink = np.zeros(0, dtype=bool)
    for i, layer in enumerate(base.layers):
        fresh = [n for start, n in starts if start == i]
        if not len(out):
            if not fresh:
                continue
            net = np.concatenate(fresh)
        else:
            carried = FD_KINDS[spec.kinds[i]].net(layer, out.reshape(-1, out.shape[-1]))
            net = np.concatenate([carried.reshape(len(out), *base.nets[i].shape), *fresh])
        new = len(net) - len(out)
        kink = np.concatenate([kink, np.zeros(new, dtype=bool)])
        at_kink = np.concatenate([at_kink, np.zeros(new, dtype=bool)])
        if ACTIVATIONS[spec.activations[i]].kinked:
            sign = np.sign(base.nets[i])
            moved = np.sign(net) != sign
            kink |= moved.any(axis=(1, 2))
            at_kink |= (moved & (sign == 0)).any(axis=(1, 2))
        out = FD_ACTIVATIONS[spec.activations[i]](net, spec.slopes[i])
    return FD_LOSSES[spec.loss](net, out, base.targets), kink, at_kink
