"""Two independent oracles for ``dE/dparams``: finite differences and JAX.

Both take ``(spec, params, inputs, targets)`` and return a structure shaped like ``params`` (the
:data:`gradcheck.spec.GradientFn` contract). Neither imports :mod:`gradcheck.backprop`: each has
its own forward pass, so a bug in the hand-derived code cannot hide in a shared helper.

* Finite differences, always evaluated in float64: ``D(h) = (E(p + h) - E(p - h)) / 2h`` per
  scalar entry, a second step ``2h`` for the Richardson value ``R = (4 D(h) - D(2h)) / 3`` and the
  error estimate ``|D(2h) - D(h)| / 3 + 1.5 delta / h`` (``delta``: rounding noise of ``E``). All
  perturbed copies go through one batched NumPy forward pass, each joining it at its parameter's
  layer (``W[r, c] += h`` only moves ``net[:, r]``, by ``h x[:, c]``; below it, nothing moves).
  Entries whose stencil moves a relu/leaky_relu pre-activation across zero are flagged as kinks.
* JAX: ``jax.value_and_grad`` of a jax.numpy forward pass. Widths are padded up to powers of two
  (zero weights, masked outputs and samples) and activations/losses are runtime switches, so one
  compiled function, cached by jit at module level, serves every network of a shape bucket; the
  parameters go in as one vector and loss and gradients come back as one. It runs with x64
  switched on locally (``jax.enable_x64``), never globally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck.spec import ACTIVATIONS, LOSSES, Array, Location, Params, Spec, SpecError

__all__ = [
    "DEFAULT_REL_STEP",
    "DirectionalResult",
    "FDResult",
    "check_arguments",
    "directional_finite_difference",
    "finite_difference",
    "finite_difference_grads",
    "jax_cache_info",
    "jax_grads",
    "jax_loss_and_grads",
]

_EPS64 = float(np.finfo(np.float64).eps)
DEFAULT_REL_STEP = _EPS64 ** (1.0 / 3.0)  # balances truncation O(h^2) against rounding O(eps/h)
_STENCIL = np.array([1.0, -1.0, 2.0, -2.0])  # multiples of h: D(h) from +-1, D(2h) from +-2
_KINKED = frozenset({"relu", "leaky_relu"})
_CHUNK = 1 << 21  # floats per batched layer activation; bounds FD memory for large layers
_KINK_RETRY = 64.0
_KAPPA = 2.0  # a directional stencil that crosses a kink is retried with h / 64
BoolParams = list[dict[str, np.ndarray]]


@dataclass(frozen=True)
class FDResult:
    """Per-entry finite differences, every field shaped like ``params`` (float64 / bool).

    ``values``: Richardson value ``(4 D(h) - D(2h)) / 3``; ``errors``: its error estimate;
    ``steps``: ``h`` per entry; ``kinks``: the stencil ``p +- h, p +- 2h`` moved a relu/leaky_relu
    pre-activation across zero; ``at_kink``: the point itself sits on a kink for a unit the
    entry moves (the one-sided derivatives differ there); ``loss``: ``E(params)``. Entries left
    out by ``only`` hold NaN and False.
    """

    values: Params
    errors: Params
    steps: Params
    kinks: BoolParams
    at_kink: BoolParams
    loss: float


@dataclass(frozen=True)
class DirectionalResult:
    """Finite differences of ``t -> E(p + t v_g)`` at 0, one random direction per group.

    ``directions[l][g]`` is ``v_g`` (shaped like the group, ``max |v_g| = 1``); ``values``,
    ``errors``, ``steps`` and ``kinks`` hold, per group, the Richardson value, its error estimate,
    the step in ``t`` and whether the stencil still crossed a kink after one retry.
    """

    directions: Params
    values: list[dict[str, float]]
    errors: list[dict[str, float]]
    steps: list[dict[str, float]]
    kinks: list[dict[str, bool]]
    loss: float


# -- arguments ------------------------------------------------------------------------------
def check_arguments(spec: Spec, params: Params, inputs: Array, targets: Array) -> None:
    """Raise :class:`SpecError` unless params has the spec's trainable groups and shapes and
    inputs/targets are finite ``(batch, n_in)`` / ``(batch, n_out)`` arrays."""
    expected = spec.initial_params()
    if not isinstance(params, list) or len(params) != len(expected):
        got = f"{len(params)} layers" if isinstance(params, list) else type(params).__name__
        raise SpecError(f"{spec.path}: params: expected a list of {len(expected)} dicts, got {got}")
    for i, (layer, want) in enumerate(zip(params, expected, strict=True)):
        keys = sorted(layer) if isinstance(layer, dict) else type(layer).__name__
        if not isinstance(layer, dict) or set(layer) != set(want):
            raise SpecError(
                f"{spec.path}: params[{i}]: groups {keys}, expected {sorted(want)} (trainable only)"
            )
        for group, a in want.items():
            _check_array(spec, f"params[{i}][{group!r}]", layer[group], a.shape)
    x = _check_array(spec, "inputs", inputs, None)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != spec.sizes[0]:
        raise SpecError(f"{spec.path}: inputs: shape {x.shape}, expected (batch, {spec.sizes[0]})")
    _check_array(spec, "targets", targets, (x.shape[0], spec.sizes[-1]))


def _check_array(spec: Spec, field: str, value: Any, shape: tuple[int, ...] | None) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "fiu":
        raise SpecError(f"{spec.path}: {field}: dtype {a.dtype}, expected floating point numbers")
    if shape is not None and a.shape != shape:
        raise SpecError(f"{spec.path}: {field}: shape {a.shape}, expected {shape}")
    if not np.all(np.isfinite(a)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise SpecError(f"{spec.path}: {field}{list(bad)}: {a[bad]} is not finite")
    return a


# -- finite differences: an own float64 forward pass ----------------------------------------
def _activation(name: str, z: np.ndarray, slope: float) -> np.ndarray:
    """``out = act(z)`` elementwise (softmax over the last axis), float64."""
    out: np.ndarray = z
    if name == "sigmoid":
        e = np.exp(-np.abs(z))  # 1/(1+e^-z) = e^z/(1+e^z), evaluated on the side without overflow
        out = np.where(z >= 0, 1.0, e) / (1.0 + e)
    elif name == "tanh":
        out = np.tanh(z)
    elif name == "relu":
        out = np.maximum(z, 0.0)
    elif name == "leaky_relu":
        out = np.where(z > 0, z, slope * z)
    elif name == "softplus":
        out = np.logaddexp(0.0, z)
    elif name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        out = e / e.sum(axis=-1, keepdims=True)
    return out


def _loss(name: str, net: np.ndarray, out: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``E`` per copy, ``out`` shaped ``(copies, batch, n)``; cross-entropy from log_softmax."""
    if name == "half_sse":
        return np.asarray(0.5 * ((out - t) ** 2).sum(axis=(-2, -1)))
    if name == "mse":
        return np.asarray(((out - t) ** 2).mean(axis=(-2, -1)))
    shifted = net - net.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.asarray(-(t * log_p).sum(axis=(-2, -1)) / t.shape[0])


def _rounding_scale(spec: Spec, net: np.ndarray, out: np.ndarray, t: np.ndarray) -> float:
    """A bound on the rounding noise of ``E``: ``kappa eps`` times the magnitude the loss sums."""
    if spec.loss == "softmax_cross_entropy":
        magnitude = float(np.sum(np.abs(t)) * (np.max(np.abs(net)) + 1.0)) / t.shape[0]
    else:
        norm = 0.5 if spec.loss == "half_sse" else 2.0 / t.size
        magnitude = norm * float(np.sum(np.abs(out - t) * (np.abs(out) + np.abs(t) + 1.0)))
    kappa = _KAPPA * len(spec.activations) * float(np.sqrt(max(spec.sizes)))
    return float(kappa * _EPS64 * magnitude)


@dataclass(frozen=True)
class _Base:
    layers: list[dict[str, np.ndarray]]  # every group, trainable and frozen, float64
    nets: list[np.ndarray]  # nets[i]: (batch, n_{i+1})
    outs: list[np.ndarray]  # outs[0]: inputs
    targets: np.ndarray
    loss: float
    noise: float  # rounding noise bound of E


def _base_pass(spec: Spec, params: Params, inputs: Array, targets: Array) -> _Base:
    check_arguments(spec, params, inputs, targets)
    frozen = spec.frozen_params()
    layers = [
        {k: np.asarray(a, dtype=np.float64) for k, a in {**f, **p}.items()}
        for p, f in zip(params, frozen, strict=True)
    ]
    outs = [np.asarray(inputs, dtype=np.float64)]
    nets: list[np.ndarray] = []
    for layer, act, slope in zip(layers, spec.activations, spec.slopes, strict=True):
        nets.append(outs[-1] @ layer["W"].T + layer.get("b", 0.0))
        outs.append(_activation(act, nets[-1], slope))
    t = np.asarray(targets, dtype=np.float64)
    loss = float(_loss(spec.loss, nets[-1][None], outs[-1][None], t)[0])
    return _Base(layers, nets, outs, t, loss, _rounding_scale(spec, nets[-1], outs[-1], t))


def _stencil_losses(
    spec: Spec, base: _Base, starts: list[tuple[int, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run perturbed copies to the loss in one batched pass per layer.

    ``starts`` holds, in layer order, ``(l, net)``: copies ``(copies, batch, n_l)`` of layer
    ``l``'s pre-activation (everything below ``l`` is the unperturbed ``base``). Returns ``E``
    per copy (in ``starts`` order) and whether a relu-like pre-activation changed sign, from 0.
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
            carried = out.reshape(-1, out.shape[-1]) @ layer["W"].T + layer.get("b", 0.0)
            net = np.concatenate([carried.reshape(len(out), *base.nets[i].shape), *fresh])
        new = len(net) - len(out)
        kink = np.concatenate([kink, np.zeros(new, dtype=bool)])
        at_kink = np.concatenate([at_kink, np.zeros(new, dtype=bool)])
        if spec.activations[i] in _KINKED:
            sign = np.sign(base.nets[i])
            moved = np.sign(net) != sign
            kink |= moved.any(axis=(1, 2))
            at_kink |= (moved & (sign == 0)).any(axis=(1, 2))
        out = _activation(spec.activations[i], net, spec.slopes[i])
    return _loss(spec.loss, net, out, base.targets), kink, at_kink


def _richardson(
    losses: np.ndarray, centre: float, h: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """From ``E(p + m h)`` for m = 1, -1, 2, -2 (columns): value ``R`` and its error estimate.

    The rounding noise ``delta`` is the larger of the model bound and the measured fourth
    difference ``|E(2h) - 4E(h) + 6E(0) - 4E(-h) + E(-2h)| / 8`` (pure noise at these steps).
    """
    d1 = (losses[:, 0] - losses[:, 1]) / (2.0 * h)
    d2 = (losses[:, 2] - losses[:, 3]) / (4.0 * h)
    fourth = losses[:, 2] + losses[:, 3] - 4.0 * (losses[:, 0] + losses[:, 1]) + 6.0 * centre
    delta = np.maximum(noise, np.abs(fourth) / 8.0)
    return (4.0 * d1 - d2) / 3.0, np.abs(d2 - d1) / 3.0 + 1.5 * delta / h


def _selected(spec: Spec, params: Params, only: list[Location] | None) -> dict[Any, np.ndarray]:
    """(layer, group) -> flat indices of the entries to difference."""
    if only is None:
        return {(i, g): np.arange(np.size(a)) for i, p in enumerate(params) for g, a in p.items()}
    chosen: dict[Any, list[int]] = {}
    for layer, group, index in only:
        if layer >= len(params) or group not in params[layer]:
            raise SpecError(f"{spec.path}: only: no trainable group {group!r} in layer {layer}")
        shape = np.shape(params[layer][group])
        flat = int(np.ravel_multi_index(index, shape)) if shape else 0
        chosen.setdefault((layer, group), []).append(flat)
    return {key: np.unique(flat) for key, flat in chosen.items()}


def finite_difference(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    rel_step: float | None = None,
    only: list[Location] | None = None,
) -> FDResult:
    """Central differences of ``E`` with a Richardson step for every trainable entry (or ``only``).

    ``h = rel_step * max(|p|, 1)`` per entry, ``rel_step`` defaulting to ``eps_float64 ** (1/3)``.
    """
    base = _base_pass(spec, params, inputs, targets)
    rel = DEFAULT_REL_STEP if rel_step is None else float(rel_step)
    out: dict[str, list[dict[str, np.ndarray]]] = {
        k: [{} for _ in params] for k in ("values", "errors", "steps", "kinks", "at_kink")
    }
    for i, layer in enumerate(params):
        for group, a in layer.items():
            for key in out:
                out[key][i][group] = np.full(np.shape(a), np.nan if key[0] in "ves" else False)
    pieces = []
    for (i, g), flat in _selected(spec, params, only).items():
        h = rel * np.maximum(np.abs(np.reshape(params[i][g], -1)[flat]), 1.0)
        pieces.append(_Piece(i, g, flat, h.astype(np.float64)))
    per_chunk = max(1, _CHUNK // (len(_STENCIL) * base.nets[0].shape[0] * max(spec.sizes)))
    for chunk in _chunks(pieces, per_chunk):
        losses, kink, at_kink = _stencil_losses(spec, base, _perturbed_nets(base, chunk))
        h = np.concatenate([piece.steps for piece in chunk])
        value, error = _richardson(losses.reshape(-1, 4), base.loss, h, base.noise)
        flags = {"kinks": kink, "at_kink": at_kink}
        found = {"values": value, "errors": error, "steps": h}
        found |= {k: np.any(v.reshape(-1, len(_STENCIL)), axis=1) for k, v in flags.items()}
        lo = 0
        for piece in chunk:
            for key, result in found.items():
                target = out[key][piece.layer][piece.group].reshape(-1)  # a view (contiguous)
                target[piece.flat] = result[lo : lo + piece.flat.size]
            lo += piece.flat.size
    return FDResult(
        out["values"], out["errors"], out["steps"], out["kinks"], out["at_kink"], base.loss
    )


@dataclass(frozen=True)
class _Piece:
    """Entries ``flat`` of ``params[layer][group]`` and their steps ``h``."""

    layer: int
    group: str
    flat: np.ndarray
    steps: np.ndarray


def _chunks(pieces: list[_Piece], size: int) -> Iterator[list[_Piece]]:
    """Consecutive runs of about ``size`` entries (a large group is split)."""
    chunk: list[_Piece] = []
    room = size
    for piece in pieces:
        lo = 0
        while lo < piece.flat.size:
            take = min(room, piece.flat.size - lo)
            part = slice(lo, lo + take)
            chunk.append(_Piece(piece.layer, piece.group, piece.flat[part], piece.steps[part]))
            lo, room = lo + take, room - take
            if room == 0:
                yield chunk
                chunk, room = [], size
    if chunk:
        yield chunk


def _perturbed_nets(base: _Base, pieces: list[_Piece]) -> list[tuple[int, np.ndarray]]:
    """Layer ``l``'s pre-activation for ``p +- h, p +- 2h`` of every entry, per layer in order:
    ``W[r, c] += s`` moves ``net[:, r]`` by ``s x[:, c]``, ``b[r] += s`` moves ``net[:, r]`` by
    ``s``, a shared ``b += s`` moves all of ``net`` by ``s``."""
    starts: list[tuple[int, np.ndarray]] = []
    for i in sorted({piece.layer for piece in pieces}):
        nets = []
        for piece in (q for q in pieces if q.layer == i):
            steps = (piece.steps[:, None] * _STENCIL).reshape(-1)
            flat = np.repeat(piece.flat, len(_STENCIL))
            net = np.repeat(base.nets[i][None], steps.size, axis=0)
            copy = np.arange(steps.size)
            if piece.group == "W":
                r, c = np.unravel_index(flat, base.layers[i]["W"].shape)
                net[copy, :, r] += steps[:, None] * base.outs[i][:, c].T
            elif base.layers[i]["b"].ndim == 1:
                net[copy, :, flat] += steps[:, None]
            else:
                net += steps[:, None, None]
            nets.append(net)
        starts.append((i, np.concatenate(nets)))
    return starts


def finite_difference_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """``dE/dparams`` by central differences (Richardson values), float64, shaped like params."""
    return finite_difference(spec, params, inputs, targets).values


def directional_finite_difference(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    seed: int = 0,
    rel_step: float | None = None,
) -> DirectionalResult:
    """``d/dt E(p + t v_g)`` at 0 for one random direction ``v_g ~ N(0, I)`` per trainable group,
    scaled to ``max |v_g| = 1``: four forward passes per group whatever its size. Compare with
    ``<grad_g, v_g>``."""
    base = _base_pass(spec, params, inputs, targets)
    rel = DEFAULT_REL_STEP if rel_step is None else float(rel_step)
    rng = np.random.default_rng(seed)
    result = DirectionalResult(
        [{} for _ in params],
        [{} for _ in params],
        [{} for _ in params],
        [{} for _ in params],
        [{} for _ in params],
        base.loss,
    )
    for i, layer in enumerate(params):
        for group, a in layer.items():
            p = np.asarray(a, dtype=np.float64)
            v = rng.standard_normal(p.shape)
            v = v / max(float(np.max(np.abs(v))), 1e-300)
            moved = base.outs[i] @ v.T if group == "W" else np.broadcast_to(v, base.nets[i].shape)
            h = rel * max(float(np.max(np.abs(p), initial=0.0)), 1.0)
            for _attempt in range(2):
                net = base.nets[i][None] + (h * _STENCIL)[:, None, None] * moved[None]
                losses, kink, _ = _stencil_losses(spec, base, [(i, net)])
                if not kink.any():
                    break
                h /= _KINK_RETRY
            value, error = _richardson(losses[None], base.loss, np.array([h]), base.noise)
            result.directions[i][group] = v
            result.values[i][group] = float(value[0])
            result.errors[i][group] = float(error[0])
            result.steps[i][group] = h
            result.kinks[i][group] = bool(kink.any())
    return result


# -- JAX: an independent jax.numpy forward pass, padded to shape buckets --------------------
def _jax_softmax(z: Any, slope: Any, mask: Any) -> Any:
    return jax.nn.softmax(jnp.where(mask, z, -1e30), axis=-1)  # padded units get e^-1e30 = 0


_JAX_ACTIVATIONS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "identity": lambda z, slope, mask: z,
    "sigmoid": lambda z, slope, mask: jax.nn.sigmoid(z),
    "tanh": lambda z, slope, mask: jnp.tanh(z),
    # Derivative at 0 is the left one (0, slope): where() picks the branch that was taken.
    "relu": lambda z, slope, mask: jnp.where(z > 0, z, jnp.zeros_like(z)),
    "leaky_relu": lambda z, slope, mask: jnp.where(z > 0, z, slope * z),
    "softplus": lambda z, slope, mask: jnp.logaddexp(z, 0.0),
    "softmax": _jax_softmax,
}


def _jax_cross_entropy(net: Any, out: Any, t: Any, weight: Any, mask: Any, count: Any) -> Any:
    log_p = jax.nn.log_softmax(jnp.where(mask, net, -1e30), axis=-1)
    return -jnp.sum(weight * t * log_p) / (count / jnp.sum(mask))  # count / n_out = batch


_JAX_LOSSES: dict[str, Callable[..., Any]] = {
    "half_sse": lambda net, out, t, weight, mask, count: 0.5 * jnp.sum(weight * (out - t) ** 2),
    "mse": lambda net, out, t, weight, mask, count: jnp.sum(weight * (out - t) ** 2) / count,
    "softmax_cross_entropy": _jax_cross_entropy,
}
_ACTIVATION_BRANCHES = [_JAX_ACTIVATIONS[name] for name in ACTIVATIONS]
_LOSS_BRANCHES = [_JAX_LOSSES[name] for name in LOSSES]
_TRACES: dict[str, int] = {"traces": 0}
_BUCKETS: set[tuple[Any, ...]] = set()


def _padded_loss(
    theta: Any, x: Any, t: Any, codes: Any, slopes: Any, padded: tuple[int, ...]
) -> Any:
    """``E`` of the padded network ``out_l = act_l(out_{l-1} W_l^T + b_l + c_l)``, ``b_l`` a
    per-neuron and ``c_l`` a shared bias, all packed in ``theta``; ``codes`` holds the activation
    and loss ids, the real widths and the real batch. Padded units and samples weigh 0 in ``E``.
    """
    _TRACES["traces"] += 1  # runs once per trace, never per call
    depth = len(padded) - 1
    widths = codes[depth + 1 : 2 * depth + 1]
    masks = [jnp.arange(padded[i + 1]) < widths[i] for i in range(depth)]
    out = net = x
    offset = 0
    for i in range(depth):
        n_out, n_in = padded[i + 1], padded[i]
        w = theta[offset : offset + n_out * n_in].reshape(n_out, n_in)
        b = theta[offset + n_out * n_in : offset + n_out * (n_in + 1)]
        offset += n_out * (n_in + 1) + 1
        net = out @ w.T + b + theta[offset - 1]
        out = jax.lax.switch(codes[i], _ACTIVATION_BRANCHES, net, slopes[i], masks[i])
    samples = jnp.arange(x.shape[0]) < codes[-1]
    weight = (samples[:, None] & masks[-1][None, :]).astype(x.dtype)
    count = (codes[-1] * widths[-1]).astype(x.dtype)
    return jax.lax.switch(codes[depth], _LOSS_BRANCHES, net, out, t, weight, masks[-1], count)


def _loss_and_flat_grad(
    theta: Any, x: Any, t: Any, codes: Any, slopes: Any, padded: tuple[int, ...]
) -> Any:
    """``[E, dE/dtheta...]`` as one array: one transfer back per call."""
    loss, grad = jax.value_and_grad(_padded_loss)(theta, x, t, codes, slopes, padded)
    return jnp.concatenate([loss[None], grad])


_LOSS_AND_GRAD = jax.jit(_loss_and_flat_grad, static_argnums=5)


def _bucket(n: int, smallest: int) -> int:
    """Round a width or batch up to a power of two, at least ``smallest``."""
    return max(smallest, 1 << max(n - 1, 0).bit_length())


def _pad(a: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    out = np.zeros(shape, dtype=dtype)
    a = np.asarray(a, dtype=dtype)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def _packed_arguments(
    spec: Spec, params: Params, inputs: Array, targets: Array, dtype: np.dtype[Any]
) -> tuple[tuple[np.ndarray, ...], tuple[int, ...], list[dict[str, slice]]]:
    """The arguments of :func:`_padded_loss`, the padded widths, and where each layer's ``W``,
    ``b`` (per-neuron) and ``c`` (shared) sit in ``theta``."""
    sizes = spec.sizes
    padded = tuple(_bucket(n, 8) for n in sizes)
    batch = np.shape(inputs)[0]
    theta = np.zeros(1 + sum(m * (n + 1) + 1 for n, m in pairwise(padded)), dtype)
    places: list[dict[str, slice]] = []
    offset = 1  # theta[0] lines the gradients up with the loss in the returned array
    for i, (p, f) in enumerate(zip(params, spec.frozen_params(), strict=True)):
        n_out, n_in = padded[i + 1], padded[i]
        w = slice(offset, offset + n_out * n_in)
        b = slice(w.stop, w.stop + n_out)
        places.append({"W": w, "b": b, "c": slice(b.stop, b.stop + 1)})
        offset = b.stop + 1
        theta[w] = _pad({**f, **p}["W"], (n_out, n_in), dtype).reshape(-1)
        bias = np.asarray({**f, **p}.get("b", 0.0), dtype=dtype)
        theta[b if bias.ndim else places[-1]["c"]] = _pad(
            bias, (n_out,) if bias.ndim else (), dtype
        )
    codes = [ACTIVATIONS.index(a) for a in spec.activations] + [LOSSES.index(spec.loss)]
    codes += [*sizes[1:], batch]
    arguments = (
        theta[1:],
        _pad(inputs, (_bucket(batch, 4), padded[0]), dtype),
        _pad(targets, (_bucket(batch, 4), padded[-1]), dtype),
        np.array(codes, dtype=np.int32),
        np.array(spec.slopes, dtype=dtype),
    )
    return arguments, padded, places


def jax_loss_and_grads(
    spec: Spec, params: Params, inputs: Array, targets: Array, *, dtype: str | None = None
) -> tuple[float, Params]:
    """``(E, dE/dparams)`` from one compiled ``jax.value_and_grad`` call, computed in the spec's
    dtype or in ``dtype`` (``"float64"`` gives a float32 spec's exact-to-float64 reference)."""
    check_arguments(spec, params, inputs, targets)
    run = spec.dtype if dtype is None else np.dtype(dtype)
    arguments, padded, places = _packed_arguments(spec, params, inputs, targets, run)
    _BUCKETS.add((padded, arguments[1].shape, run.name))
    with jax.enable_x64(True):
        flat = np.asarray(_LOSS_AND_GRAD(*arguments, padded))
    out: Params = []
    for i, p in enumerate(params):
        n_out, n_in = spec.sizes[i + 1], spec.sizes[i]
        w = flat[places[i]["W"]].reshape(padded[i + 1], padded[i])[:n_out, :n_in]
        b = flat[places[i]["b"]][:n_out] if np.ndim(p.get("b", 0)) else flat[places[i]["c"]][0]
        out.append({k: np.array(v, dtype=run) for k, v in (("W", w), ("b", b)) if k in p})
    return float(flat[0]), out


def jax_grads(
    spec: Spec, params: Params, inputs: Array, targets: Array, *, dtype: str | None = None
) -> Params:
    """``dE/dparams`` by ``jax.grad`` of an independent jax.numpy forward pass (in ``dtype``,
    default the spec's)."""
    return jax_loss_and_grads(spec, params, inputs, targets, dtype=dtype)[1]


def jax_cache_info() -> dict[str, int]:
    """``{"traces": n, "buckets": m}``: how often the JAX loss was traced, for how many shape
    buckets (a trace happens once per bucket and x64 setting, not once per network)."""
    return {"traces": _TRACES["traces"], "buckets": len(_BUCKETS)}
