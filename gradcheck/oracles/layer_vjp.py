"""JAX's vector-Jacobian product of a layer's reference forward, compiled once per bucket.

``reference_vjp(kind, case, arrays, dtype)`` gives the reference output and ``dout``'s pullback
to ``x`` and every parameter (course layout, as the contract maps them to
:mod:`gradcheck.oracles.jax_layers`). Compiling per shape would cost far more than a check, so
each case is embedded in a bucket whose every real output and gradient is exactly the case's:

* zero padding at the end of the axes where it adds exact zeros (extra samples, channels,
  filters, features, hidden units, steps; kernel rows and columns of zero weight);
* a stride as a stride-1 output read every ``stride`` positions (``dout`` scattered there, zero
  elsewhere) and a convolution's padding as zeros around ``x`` (so neither is traced);
* the axis batch norm's statistics run over (the batch) and layer norm's (the features) filled
  by repeating the real entries, which leaves the mean and the biased variance as they are; the
  pullback sums over the copies, and only the first carries ``dout``;
* flatten's real columns picked out of the padded flattening.

One trace then serves every case of a kind with the same pooling window and dtype.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck.oracles.jax_exact import counted, keep_program
from gradcheck.oracles.jax_layers import JAX_LAYERS
from gradcheck.spec.layer_contract import LAYER_CONTRACTS

__all__ = ["reference_vjp"]

Case = Mapping[str, Any]
# Knobs zero-padded to a bucket, each with its smallest bucket; others keep their size.
_PADDED: dict[str, dict[str, int]] = {
    "dense": {"N": 4, "D": 8, "M": 4},
    "conv2d": {"N": 2, "C": 4, "F": 4, "HH": 4, "WW": 4, "H": 16, "W": 16},
    "max_pool2d": {"N": 2, "C": 4, "H": 8, "W": 8},
    "avg_pool2d": {"N": 2, "C": 4, "H": 8, "W": 8},
    "flatten": {"N": 4, "C": 4, "H": 8, "W": 8},
    "batch_norm": {"D": 8},
    "layer_norm": {"N": 4},
    "dropout": {"N": 4, "D": 8},
    "rnn": {"N": 2, "T": 4, "D": 4, "H": 4},
    "residual": {"N": 4, "D": 8},
}
# Knobs filled by repetition: (knob, {array: axis}); the bucket is 12 where the size divides it.
_REPEATED: dict[str, tuple[str, dict[str, int]]] = {
    "batch_norm": ("N", {"x": 0}),
    "layer_norm": ("D", {"x": 1, "gamma": 0, "beta": 0}),
}
_REPEAT_BUCKET = 12  # every size up to 4 divides it
_STATIC = ("layout", "pool_height", "pool_width")  # trace-time options
_TRACED = ("eps", "p")  # options passed as numbers


def _bucket(size: int, smallest: int) -> int:
    """``smallest``, or the next power of two above it that holds ``size``."""
    bucket = smallest
    while bucket < size:
        bucket *= 2
    return bucket


def _traced_case(kind: str, case: Case) -> dict[str, Any]:
    """The case the bucket computes: stride 1, no padding (both done outside), knobs bucketed."""
    b = {
        **case,
        **{k: 1 for k in ("stride",) if k in case},
        **{k: 0 for k in ("pad",) if k in case},
    }
    for knob, smallest in _PADDED[kind].items():
        kernel = {"H": "HH", "W": "WW"}.get(knob) if kind == "conv2d" else None
        need = case[knob] + (
            2 * case["pad"] + _bucket(case[kernel], 4) - case[kernel] if kernel else 0
        )
        b[knob] = _bucket(need, smallest)
    if kind in _REPEATED:
        knob = _REPEATED[kind][0]
        b[knob] = _REPEAT_BUCKET if _REPEAT_BUCKET % case[knob] == 0 else case[knob]
    return b


def _embed(
    a: np.ndarray, shape: tuple[int, ...], dtype: str, offset: tuple[int, ...] = ()
) -> np.ndarray:
    out = np.zeros(shape, dtype)
    start = offset or (0,) * a.ndim
    out[tuple(slice(o, o + n) for o, n in zip(start, a.shape, strict=True))] = a
    return out


def _selector(kind: str, case: Case, bucket: Case) -> tuple[Any, ...]:
    """Where the case's real outputs sit in the bucket's output."""
    real = LAYER_CONTRACTS[kind].shapes(case)["out"]
    if kind == "flatten":
        grid = np.indices((case["C"], case["H"], case["W"])).reshape(3, -1)
        return slice(0, real[0]), np.ravel_multi_index(
            tuple(grid), (bucket["C"], bucket["H"], bucket["W"])
        )
    if "stride" in case:
        s = case["stride"]
        return (
            slice(0, real[0]),
            slice(0, real[1]),
            slice(0, real[2] * s, s),
            slice(0, real[3] * s, s),
        )
    return tuple(slice(0, n) for n in real)


@counted
@functools.partial(jax.jit, static_argnames=("kind", "static"))
def _pullback(
    kind: str,
    static: tuple[tuple[str, Any], ...],
    primals: dict[str, Any],
    extras: dict[str, Any],
    traced: dict[str, Any],
    repeat: Any,
    dout: Any,
) -> tuple[Any, dict[str, Any]]:
    case = {**dict(static), **traced, "stride": 1, "pad": 0}
    contract = LAYER_CONTRACTS[kind]
    axes = _REPEATED[kind][1] if kind in _REPEATED else {}

    def forward(p: dict[str, Any]) -> Any:
        filled = {n: jnp.take(a, repeat, axis=axes[n]) if n in axes else a for n, a in p.items()}
        x, params, options = contract.reference({**filled, **extras}, case)
        return JAX_LAYERS[kind](x, params, options)

    out, pull = jax.vjp(forward, primals)
    return out, pull(dout)[0]


def reference_vjp(
    kind: str, case: Case, arrays: Mapping[str, np.ndarray], dtype: str
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(out, grads)``: the reference forward of ``arrays`` and ``<arrays["dout"], out>``'s
    gradient with respect to ``x`` and each parameter, computed in ``dtype`` (x64 on locally)."""
    contract = LAYER_CONTRACTS[kind]
    bucket = _traced_case(kind, case)
    shapes, real = contract.shapes(bucket), contract.shapes(case)
    names = contract.arguments()
    offset = {"x": (0, 0, case["pad"], case["pad"])} if kind == "conv2d" else {}
    primals = {n: _embed(np.asarray(arrays[n]), shapes[n], dtype, offset.get(n, ())) for n in names}
    extras = {n: _embed(np.asarray(arrays[n]), shapes[n], dtype) for n in contract.extras}
    static = tuple((k, case[k]) for k in _STATIC if k in case)
    traced = {k: np.asarray(case[k], dtype) for k in _TRACED if k in case}
    knob = _REPEATED[kind][0] if kind in _REPEATED else None
    repeat = np.arange(bucket[knob]) % case[knob] if knob else np.zeros(0, np.int32)
    where = _selector(kind, case, bucket)
    dout = np.zeros(shapes["out"], dtype)
    dout[where] = arrays["dout"]
    keep_program(("layer", kind, static, tuple(shapes.items()), repeat.shape, dtype))
    with jax.enable_x64(True):
        out, grads = _pullback(kind, static, primals, extras, traced, repeat, dout)
    cut = {}
    for n in names:
        start = offset.get(n, (0,) * len(real[n]))
        cut[n] = np.asarray(grads[n])[
            tuple(slice(o, o + k) for o, k in zip(start, real[n], strict=True))
        ]
    return np.asarray(out)[where], cut
