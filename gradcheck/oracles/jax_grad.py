"""The JAX oracle: ``jax.value_and_grad`` of an independent jax.numpy forward pass.

A network of dense layers only has its widths padded up to powers of two (a small network's all
to its widest's; zero weights, masked outputs and samples) and its depth up to a multiple of
four (pass-through layers in front), and activations/losses are runtime switches, so one
compiled function, cached by jit at module level, serves every network of a shape bucket; the
parameters go in as one vector and loss and gradients come back as one. The weight decay
``lambda`` goes in as the last entry of ``slopes`` (a run-time number: no retrace per value) and
``E`` adds ``lambda/2 sum W^2`` over every layer's ``W``, frozen ones included (padded entries
are 0). Any other network (convolutions, pooling) is compiled at its exact shapes
(:mod:`gradcheck.oracles.jax_exact`). It runs with x64 switched on locally (``jax.enable_x64``),
never globally, and imports neither :mod:`gradcheck.hand` nor the finite-difference oracle. The
network itself (activations, losses, kinds) is :mod:`gradcheck.oracles.jax_network`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck.layers import KINDS, UnknownName
from gradcheck.oracles.jax_exact import (
    QUICK_COMPILE,
    counted,
    exact_loss_and_grads_later,
    keep_program,
    x64,
)
from gradcheck.oracles.jax_network import JAX_ACTIVATIONS, JAX_KINDS, JAX_LOSSES, dense_net
from gradcheck.spec import ACTIVATIONS, LOSSES, Array, Params, Spec, check_arguments

__all__ = [
    "has_padded_layout",
    "jax_cache_info",
    "jax_grads",
    "jax_loss_and_grads",
    "jax_loss_and_grads_later",
    "jax_loss_and_grads_many",
]


# lax.switch branches in the declared order: a layer's activation code is its declared index.
_ACTIVATION_BRANCHES = JAX_ACTIVATIONS.in_order(ACTIVATIONS)
_LOSS_BRANCHES = JAX_LOSSES.in_order(LOSSES)
_TRACES: dict[str, int] = {"traces": 0}
# The padded layout packs dense layers only (checked in jax_loss_and_grads): its decayed groups.
_DECAYED = KINDS["dense"].decayed
_BUCKETS: set[tuple[Any, ...]] = set()


def _padded_loss(
    theta: Any, x: Any, t: Any, codes: Any, slopes: Any, padded: tuple[int, ...]
) -> Any:
    """``E`` of the padded network ``out_l = act_l(out_{l-1} W_l^T + b_l + c_l)``, ``b_l`` a
    per-neuron and ``c_l`` a shared bias, all packed in ``theta``; ``codes`` holds the activation
    and loss ids, the real widths, the real batch and how many leading pass-through layers
    (``W = I``, identity: ``out = x`` exactly) pad the depth. Padded units and samples weigh 0 in
    ``E``, pass-through layers' ``W`` nothing in the decay term.
    """
    _TRACES["traces"] += 1  # runs once per trace, never per call
    depth = len(padded) - 1
    widths = codes[depth + 1 : 2 * depth + 1]
    batch, passes = codes[2 * depth + 1], codes[2 * depth + 2]
    masks = [jnp.arange(padded[i + 1]) < widths[i] for i in range(depth)]
    out = net = x
    offset = 0
    squares = jnp.zeros((), x.dtype)
    for i in range(depth):
        n_out, n_in = padded[i + 1], padded[i]
        w = theta[offset : offset + n_out * n_in].reshape(n_out, n_in)
        b = theta[offset + n_out * n_in : offset + n_out * (n_in + 1)]
        offset += n_out * (n_in + 1) + 1
        groups = {"W": w, "b": b}
        square = sum(jnp.sum(groups[g] * groups[g]) for g in sorted(_DECAYED))
        squares += jnp.where(i >= passes, square, jnp.zeros_like(squares))
        net = dense_net(groups, out) + theta[offset - 1]
        out = jax.lax.switch(codes[i], _ACTIVATION_BRANCHES, net, slopes[i], masks[i])
    samples = jnp.arange(x.shape[0]) < batch
    weight = (samples[:, None] & masks[-1][None, :]).astype(x.dtype)
    count = (batch * widths[-1]).astype(x.dtype)
    loss = jax.lax.switch(codes[depth], _LOSS_BRANCHES, net, out, t, weight, masks[-1], count)
    decay = slopes[depth]  # lambda; where(): no inf * 0 from float32 squares without a decay
    return loss + jnp.where(decay > 0, decay / 2 * squares, jnp.zeros_like(loss))


def _loss_and_flat_grad(
    theta: Any, x: Any, t: Any, codes: Any, slopes: Any, padded: tuple[int, ...]
) -> Any:
    """``[E, dE/dtheta...]`` as one array: one transfer back per call."""
    loss, grad = jax.value_and_grad(_padded_loss)(theta, x, t, codes, slopes, padded)
    return jnp.concatenate([loss[None], grad])


# One network per call (verify under @given, shrinking, the fixture): a bucket meets few
# networks, so its compile is most of its cost; compiled as the exact-shape programs of small
# networks are (30 fresh 1-4-layer networks: 16.1 s -> 7.7 s, their runs about 10% slower).
_LOSS_AND_GRAD = counted(
    jax.jit(_loss_and_flat_grad, static_argnums=5, compiler_options=QUICK_COMPILE)
)


def _many_loss_and_flat_grads(
    theta: Any, x: Any, t: Any, codes: Any, slopes: Any, padded: tuple[int, ...]
) -> Any:
    """:func:`_loss_and_flat_grad` of one network per row of every argument (a bucket shares
    ``padded``)."""

    def one(theta: Any, x: Any, t: Any, codes: Any, slopes: Any) -> Any:
        return _loss_and_flat_grad(theta, x, t, codes, slopes, padded)

    return jax.vmap(one)(theta, x, t, codes, slopes)


# Compiled quickly too: a depth-4 bucket's program compiles in 0.75 s instead of 3.3 s and runs
# 64 networks in 6 ms instead of 1.7 ms, so the quick one is ahead below some 38,000 networks per
# bucket (gradcheck verify --examples 10000 on small dense networks, cold: 60 s -> 47 s)
_LOSS_AND_GRAD_MANY = counted(
    jax.jit(_many_loss_and_flat_grads, static_argnums=5, compiler_options=QUICK_COMPILE)
)
# Networks per vmapped call, always (the last chunk padded): one program per bucket, and a
# network's values do not depend on how many share its call (XLA rounds a batched program of
# another size otherwise), so a replayed network gets the very numbers its batch gave it.
_MANY_CHUNK = 64
# Layers per program: a shallower network is led by pass-through layers (W = I, identity), which
# hand its input on unchanged, to the bit (x * 1 + 0 * others), so depths share a program.
_DEPTH_STEP = 4
# Up to this width a network's layers are padded alike, to its widest layer's width.
_SHARED_WIDTH = 32


def _padded_width(n: int, smallest: int) -> int:
    """Round a width or batch up to a power of two, at least ``smallest``."""
    return max(smallest, 1 << max(n - 1, 0).bit_length())


def _bucket_widths(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Each width of ``sizes`` padded: all to the widest's :func:`_padded_width` up to
    :data:`_SHARED_WIDTH` (a bucket per widest width, not per mix of widths: drawn networks of
    widths 2 to 10 compiled a program for most of their mixes of 8 and 16), else each its own."""
    widest = _padded_width(max(sizes), 8)
    if widest <= _SHARED_WIDTH:
        return (widest,) * len(sizes)
    return tuple(_padded_width(n, 8) for n in sizes)


def _padded_depth(depth: int) -> int:
    """Round a depth up to a multiple of :data:`_DEPTH_STEP`: networks of depth 1 to 4 share one
    program (tracing the vmapped program costs about a second per depth and per process)."""
    return -(-depth // _DEPTH_STEP) * _DEPTH_STEP


def _pad(a: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    out = np.zeros(shape, dtype=dtype)
    a = np.asarray(a, dtype=dtype)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


@functools.lru_cache(maxsize=256)
def _layout(
    sizes: tuple[int, ...], step: int
) -> tuple[tuple[int, ...], int, tuple[_Place, ...], np.ndarray]:
    """For a network of widths ``sizes`` padded to a multiple of ``step`` layers
    (:data:`_DEPTH_STEP`): the padded widths (pass-through layers first), how
    many pass-through layers lead, where each real layer's ``W``, ``b`` (per-neuron) and ``c``
    (shared) sit in ``[E, theta...]``, and that vector with the pass-through ``W = I`` in place
    and zeros elsewhere (copied per network)."""
    passes = -(-(len(sizes) - 1) // step) * step - (len(sizes) - 1)
    real = _bucket_widths(sizes)
    padded = (real[0],) * passes + real
    template = np.zeros(1 + sum(m * (n + 1) + 1 for n, m in pairwise(padded)))
    offset = 1  # theta[0] lines the gradients up with the loss in the returned array
    for _ in range(passes):  # W = I, no bias
        step = real[0] * real[0]
        template[offset : offset + step] = np.eye(real[0]).reshape(-1)
        offset += step + real[0] + 1
    places = []
    for n_in, n_out in pairwise(real):
        w = slice(offset, offset + n_out * n_in)
        b = slice(w.stop, w.stop + n_out)
        places.append(_Place(w, b, b.stop, (n_out, n_in)))
        offset = b.stop + 1
    template.setflags(write=False)
    return padded, passes, tuple(places), template


class _Place(NamedTuple):
    """Where one layer sits in ``[E, theta...]``: ``W`` (padded ``shape``, row-major), the
    per-neuron ``b`` and the shared bias ``c``."""

    w: slice
    b: slice
    c: int
    shape: tuple[int, int]


def _packed_arguments(
    spec: Spec, params: Params, inputs: Array, targets: Array, dtype: np.dtype[Any]
) -> tuple[tuple[np.ndarray, ...], tuple[int, ...], tuple[_Place, ...]]:
    """The arguments of :func:`_padded_loss`, the padded widths (pass-through layers first),
    and where each real layer's groups sit in ``[E, theta...]`` (:func:`_layout`)."""
    sizes = spec.sizes
    padded, passes, places, template = _layout(sizes, _DEPTH_STEP)
    theta = template.astype(dtype)
    for place, p, f in zip(places, params, spec.frozen_params(), strict=True):
        groups = {**f, **p}
        w = np.asarray(groups["W"])
        theta[place.w].reshape(place.shape)[: w.shape[0], : w.shape[1]] = w
        bias = np.asarray(groups.get("b", 0.0))
        if bias.ndim:
            theta[place.b][: bias.size] = bias
        else:
            theta[place.c] = bias
    batch = np.shape(inputs)[0]
    identity = ACTIVATIONS.index("identity")
    codes = [identity] * passes + [ACTIVATIONS.index(a) for a in spec.activations]
    codes += [LOSSES.index(spec.loss), *[sizes[0]] * passes, *sizes[1:], batch, passes]
    arguments = (
        theta[1:],
        _pad(inputs, (_padded_width(batch, 4), padded[0]), dtype),
        _pad(targets, (_padded_width(batch, 4), padded[-1]), dtype),
        np.array(codes, dtype=np.int32),
        np.array([0.0] * passes + [*spec.slopes, spec.weight_decay], dtype=dtype),
    )
    return arguments, padded, places


def jax_loss_and_grads(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    dtype: str | None = None,
    checked: bool = False,
) -> tuple[float, Params]:
    """``(E, dE/dparams)`` from one compiled ``jax.value_and_grad`` call, computed in the spec's
    dtype or in ``dtype`` (``"float64"`` gives a float32 spec's exact-to-float64 reference).
    ``checked=True``: the caller has already run ``check_arguments`` on these arguments."""
    return jax_loss_and_grads_later(spec, params, inputs, targets, dtype=dtype, checked=checked)()


def jax_loss_and_grads_later(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    dtype: str | None = None,
    checked: bool = False,
) -> Callable[[], tuple[float, Params]]:
    """:func:`jax_loss_and_grads`, dispatched now and collected when the returned function is
    called: XLA computes while the caller does other work."""
    if not checked:
        check_arguments(spec, params, inputs, targets)
    for kind in spec.kinds:  # an undeclared kind raises here
        JAX_KINDS[kind]
    if not has_padded_layout(spec):  # the padded layout packs dense layers; others run at
        run = spec.dtype if dtype is None else np.dtype(dtype)  # their exact shapes
        return exact_loss_and_grads_later(spec, params, inputs, targets, run)
    run = _run_dtype(spec, dtype)
    arguments, padded, places = _packed_arguments(spec, params, inputs, targets, run)
    bucket = (padded, arguments[1].shape, run.name)
    _BUCKETS.add(bucket)
    keep_program(("padded", *bucket))
    with x64():
        pending = _LOSS_AND_GRAD(*arguments, padded)
    return lambda: _unpacked(spec, params, np.asarray(pending), places, run)


def jax_loss_and_grads_many(
    cases: Sequence[tuple[Spec, Params, Array, Array]], *, dtype: str | None = None
) -> list[tuple[float, Params]]:
    """:func:`jax_loss_and_grads` of every case (arguments already checked), one ``jax.vmap``
    call per shape bucket chunk: the cases of a bucket are stacked in chunks of one size (the
    last one padded with copies of its first case), so a bucket compiles once, and a case gets
    the same numbers whichever cases share its chunk."""
    packed = []
    buckets: dict[tuple[Any, ...], list[int]] = {}
    for k, (spec, params, inputs, targets) in enumerate(cases):
        run = _run_dtype(spec, dtype)
        arguments, padded, places = _packed_arguments(spec, params, inputs, targets, run)
        packed.append((arguments, padded, places, run))
        key = (padded, arguments[1].shape, run.name)
        _BUCKETS.add(key)
        buckets.setdefault(key, []).append(k)
    flats: list[np.ndarray] = [np.zeros(0)] * len(cases)
    for key, members in buckets.items():
        padded = packed[members[0]][1]
        for lo in range(0, len(members), _MANY_CHUNK):
            chunk = members[lo : lo + _MANY_CHUNK]
            rows = [packed[k][0] for k in chunk]
            rows += [rows[0]] * (_MANY_CHUNK - len(chunk))
            stacked = tuple(np.stack(column) for column in zip(*rows, strict=True))
            keep_program(("padded, many", *key))
            with x64():
                out = np.asarray(_LOSS_AND_GRAD_MANY(*stacked, padded))
            for row, k in enumerate(chunk):
                flats[k] = out[row]
    return [
        _unpacked(spec, params, flat, places, run)
        for (spec, params, _, _), flat, (_, _, places, run) in zip(
            cases, flats, packed, strict=True
        )
    ]


def has_padded_layout(spec: Spec) -> bool:
    """Whether every layer of ``spec`` packs into the padded layout (dense layers do)."""
    return spec.is_dense


def _run_dtype(spec: Spec, dtype: str | None) -> np.dtype[Any]:
    """The dtype to run ``spec`` in; a layer kind without a padded layout raises here."""
    if not spec.is_dense:
        raise UnknownName(f"JAX oracle: layer kinds {spec.kinds} have no padded layout")
    return spec.dtype if dtype is None else np.dtype(dtype)


def _unpacked(
    spec: Spec,
    params: Params,
    flat: np.ndarray,
    places: tuple[_Place, ...],
    run: np.dtype[Any],
) -> tuple[float, Params]:
    """``(E, grads)`` read back from ``[E, dE/dtheta...]``, each group cut to its real shape."""
    out: Params = []
    for place, p, n_in, n_out in zip(places, params, spec.sizes, spec.sizes[1:], strict=False):
        grads = {}
        if "W" in p:
            w = flat[place.w].reshape(place.shape)[:n_out, :n_in]
            grads["W"] = np.array(w, dtype=run)
        if "b" in p:
            b = flat[place.b][:n_out] if np.ndim(p["b"]) else flat[place.c]
            grads["b"] = np.array(b, dtype=run)
        out.append(grads)
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
