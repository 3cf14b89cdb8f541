"""Hypothesis draws of layer cases: shapes, options and a data seed per layer kind.

A *case* is a dict of the kind's knobs (:class:`~gradcheck.spec.layer_contract.LayerContract`):
small shapes (batch 1 often, odd sizes), strides above 1, padding 0 and above, pooling windows
that overlap. Every knob shrinks towards its smallest value, so a failing case shrinks to a
minimal shape; a knob the caller fixes is taken as given. :func:`layer_arrays` turns a case
into its arrays (``x``, the parameters, extras such as dropout's mask, and an upstream
``dout``), all from ``data_seed``: a case is replayed from its knobs alone. Max-pool inputs are
distinct (a spaced permutation), so no window has a tie that finite differences would cross.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st

from gradcheck.layers import Registry
from gradcheck.spec.layer_contract import LAYER_CONTRACTS, LayerOptionError, check_knobs

__all__ = ["LAYER_DRAWS", "Knob", "layer_arrays", "layer_cases"]

Knob = Callable[[str, st.SearchStrategy[Any]], Any]  # (name, strategy) -> the fixed or drawn value
_SEEDS = st.integers(0, 2**32 - 1)
LAYER_DRAWS: Registry[Callable[[Knob], dict[str, Any]]] = Registry(
    "layer draws", "layer-level kind"
)


def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, max(lo, hi))


def _image(knob: Knob, kernel: tuple[int, int] = (1, 1), pad: int = 0) -> dict[str, Any]:
    """N, C, H, W with H + 2 pad >= the kernel's height (W likewise), at most 2x3x8x8."""
    n, c = knob("N", _ints(1, 2)), knob("C", _ints(1, 3))
    h = knob("H", _ints(max(1, kernel[0] - 2 * pad), 8))
    return {"N": n, "C": c, "H": h, "W": knob("W", _ints(max(1, kernel[1] - 2 * pad), 8))}


@LAYER_DRAWS.register("conv2d")
def _conv(knob: Knob) -> dict[str, Any]:
    hh, ww = knob("HH", _ints(1, 4)), knob("WW", _ints(1, 4))
    stride, pad = knob("stride", _ints(1, 3)), knob("pad", _ints(0, 2))
    return {
        **_image(knob, (hh, ww), pad),
        "F": knob("F", _ints(1, 3)),
        "HH": hh,
        "WW": ww,
        "stride": stride,
        "pad": pad,
    }


def _pool(knob: Knob) -> dict[str, Any]:
    ph, pw = knob("pool_height", _ints(1, 3)), knob("pool_width", _ints(1, 3))
    stride = knob("stride", _ints(1, 3))  # below the window: windows overlap
    return {**_image(knob, (ph, pw)), "pool_height": ph, "pool_width": pw, "stride": stride}


LAYER_DRAWS.add("max_pool2d", _pool)
LAYER_DRAWS.add("avg_pool2d", _pool)
LAYER_DRAWS.add("flatten", lambda knob: _image(knob))
LAYER_DRAWS.add(
    "dense",
    lambda knob: {
        "N": knob("N", _ints(1, 3)),
        "D": knob("D", _ints(1, 5)),
        "M": knob("M", _ints(1, 4)),
    },
)

LAYER_DRAWS.add("residual", lambda knob: {"N": knob("N", _ints(1, 3)), "D": knob("D", _ints(1, 5))})


def _norm(statistics_over: str) -> Callable[[Knob], dict[str, Any]]:
    """N and D, at least 2 along the axis the statistics run over (over one value a norm's
    output is ``beta`` whatever ``x``: its exact ``dx`` is 0 and only rounding is left)."""

    def draw(knob: Knob) -> dict[str, Any]:
        eps = knob("eps", st.sampled_from((1e-5, 1e-3)))
        low = {"N": 1, "D": 1, statistics_over: 2}
        return {k: knob(k, _ints(low[k], 4)) for k in ("N", "D")} | {"eps": eps}

    return draw


LAYER_DRAWS.add("batch_norm", _norm("N"))
LAYER_DRAWS.add("layer_norm", _norm("D"))
LAYER_DRAWS.add(
    "dropout",
    lambda knob: {
        "N": knob("N", _ints(1, 3)),
        "D": knob("D", _ints(1, 5)),
        "p": knob("p", st.sampled_from((0.5, 0.25, 0.8))),
    },
)
LAYER_DRAWS.add(
    "rnn",
    lambda knob: {
        "N": knob("N", _ints(1, 2)),
        "T": knob("T", _ints(1, 4)),
        "D": knob("D", _ints(1, 3)),
        "H": knob("H", _ints(1, 3)),
    },
)


def layer_cases(
    kind: str, fixed: Mapping[str, Any] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Cases of ``kind``: every knob drawn unless ``fixed`` gives it (checked here, so a bad
    option raises :class:`~gradcheck.spec.layer_contract.LayerOptionError` before any draw)."""
    contract, draw_knobs = LAYER_CONTRACTS[kind], LAYER_DRAWS[kind]
    given = dict(fixed or {})
    check_knobs(kind, given)

    @st.composite
    def cases(draw: st.DrawFn) -> dict[str, Any]:
        def knob(name: str, strategy: st.SearchStrategy[Any]) -> Any:
            return given[name] if name in given else draw(strategy)

        case = {**contract.defaults, **draw_knobs(knob), "data_seed": knob("data_seed", _SEEDS)}
        case.update({k: v for k, v in given.items() if k in contract.defaults})
        empty = {n: s for n, s in contract.shapes(case).items() if min(s, default=1) < 1}
        if empty:  # only fixed knobs can do this: the drawn ones respect each other
            raise LayerOptionError(
                f"verify_layer {kind}: options give {next(iter(empty))} the shape "
                f"{next(iter(empty.values()))}; every size must be >= 1"
            )
        return case

    return cases()


def layer_arrays(kind: str, case: Mapping[str, Any], dtype: str) -> dict[str, np.ndarray]:
    """``x``, the parameters, the extras and ``dout`` of a case, from its ``data_seed``: standard
    normal values (max-pool inputs a spaced permutation, so windows hold no ties; a dropout
    mask keeps each entry with probability ``1 - p``)."""
    contract = LAYER_CONTRACTS[kind]
    shapes = contract.shapes(case)
    rng = np.random.default_rng(case["data_seed"])
    arrays: dict[str, np.ndarray] = {}
    for name in (*contract.arguments(), *contract.extras):
        shape = shapes[name]
        if name == "mask":
            value = (rng.random(shape) >= case["p"]).astype(np.float64)
        elif kind == "max_pool2d":
            size = int(np.prod(shape))
            value = (rng.permutation(size) - size / 2).reshape(shape) * (4.0 / max(size, 1))
        elif kind == "rnn" and name != "x":
            value = rng.standard_normal(shape) * 0.5  # keeps tanh off its flat tails
        else:
            value = rng.standard_normal(shape)
        arrays[name] = value.astype(dtype)
    arrays["dout"] = rng.standard_normal(shapes["out"]).astype(dtype)
    return arrays
