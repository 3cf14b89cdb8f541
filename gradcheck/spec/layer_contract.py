"""The course-style layer contract: what a layer's ``forward`` and ``backward`` get and return.

Most course code writes a layer as a pair (CS231n style)::

    out, cache = conv_forward(x, w, b, conv_param)    # forward(x, *params[, options])
    dx, dw, db = conv_backward(dout, cache)           # backward(dout, cache) -> (dx, *dparams)

A :class:`LayerContract` says, per layer kind, which parameters follow ``x`` (in order, course
layout: affine ``w`` is ``(D, M)``, RNN ``Wx`` ``(D, H)``; ``layout="out_in"`` takes gradcheck's
own, one row per output), which keys the options dict holds (or that none is passed), and the
*knobs*: every number a check draws (shapes, options, ``data_seed`` for the arrays), each of
which a caller may fix. :data:`CONTRACT_TABLE` is the table ``gradcheck verify-layer --help``
prints. Everything here is plain data and duck-typed arithmetic (``.T``), so the same mapping to
the reference layout works on NumPy and JAX arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gradcheck.errors import GradcheckError
from gradcheck.layers import Registry

__all__ = [
    "CONTRACT_TABLE",
    "LAYER_CONTRACTS",
    "LayerContract",
    "LayerOptionError",
    "check_knobs",
    "gradient_name",
]

Case = Mapping[str, Any]  # knob name -> value
Reference = tuple[Any, dict[str, Any], dict[str, Any]]  # x, params, options of the JAX reference


class LayerOptionError(GradcheckError, ValueError):
    """An option given to ``verify_layer`` that the kind has not, or a value it cannot take."""


@dataclass(frozen=True)
class LayerContract:
    """One kind's course-style contract (see the module docstring)."""

    kind: str
    forward: str  # the call, for people
    backward: str
    params: tuple[str, ...]  # what follows x in forward, in order
    options_arg: str | None  # the options dict's name in forward (None: not passed)
    option_keys: tuple[str, ...]  # the knobs that go into the options dict
    knobs: tuple[str, ...]  # everything a check draws or a caller may fix
    shapes: Callable[[Case], dict[str, tuple[int, ...]]]  # x, each param, extras, and "out"
    reference: Callable[[Mapping[str, Any], Case], Reference]  # arrays -> the JAX reference's
    extras: tuple[str, ...] = ()  # arrays drawn for the options dict (dropout's mask)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # knobs not drawn unless fixed
    output: str = "out"

    def options(self, case: Case, arrays: Mapping[str, Any]) -> dict[str, Any] | None:
        """The options dict ``forward`` gets (a fresh one each call), or None."""
        if self.options_arg is None:
            return None
        chosen = {key: case[key] for key in self.option_keys}
        return {**chosen, **{name: arrays[name] for name in self.extras}, **self.fixed_keys}

    @property
    def fixed_keys(self) -> dict[str, Any]:
        """Keys every options dict of this kind holds whatever is drawn (``mode='train'``)."""
        return {"mode": "train"} if self.kind in ("batch_norm", "dropout") else {}

    def arguments(self) -> tuple[str, ...]:
        """``("x", *params)``: what ``backward`` returns a gradient for, in order."""
        return ("x", *self.params)


def gradient_name(argument: str) -> str:
    """``dx``, ``dw``, ``dgamma``: the name course code gives ``argument``'s gradient."""
    return f"d{argument}"


def _out_size(size: int, kernel: int, stride: int, pad: int = 0) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def _dense_shapes(c: Case) -> dict[str, tuple[int, ...]]:
    w = (c["D"], c["M"]) if c["layout"] == "in_out" else (c["M"], c["D"])
    return {"x": (c["N"], c["D"]), "w": w, "b": (c["M"],), "out": (c["N"], c["M"])}


def _residual_shapes(c: Case) -> dict[str, tuple[int, ...]]:
    x = (c["N"], c["D"])
    return {"x": x, "w": (c["D"], c["D"]), "b": (c["D"],), "out": x}


def _conv_shapes(c: Case) -> dict[str, tuple[int, ...]]:
    oh = _out_size(c["H"], c["HH"], c["stride"], c["pad"])
    ow = _out_size(c["W"], c["WW"], c["stride"], c["pad"])
    return {
        "x": (c["N"], c["C"], c["H"], c["W"]),
        "w": (c["F"], c["C"], c["HH"], c["WW"]),
        "b": (c["F"],),
        "out": (c["N"], c["F"], oh, ow),
    }


def _pool_shapes(c: Case) -> dict[str, tuple[int, ...]]:
    oh = _out_size(c["H"], c["pool_height"], c["stride"])
    ow = _out_size(c["W"], c["pool_width"], c["stride"])
    return {"x": (c["N"], c["C"], c["H"], c["W"]), "out": (c["N"], c["C"], oh, ow)}


def _norm_shapes(c: Case) -> dict[str, tuple[int, ...]]:
    x = (c["N"], c["D"])
    return {"x": x, "gamma": (c["D"],), "beta": (c["D"],), "out": x}


def _rnn_shapes(c: Case) -> dict[str, tuple[int, ...]]:
    n, t, d, h = c["N"], c["T"], c["D"], c["H"]
    wx = (d, h) if c["layout"] == "in_out" else (h, d)
    return {"x": (n, t, d), "h0": (n, h), "Wx": wx, "Wh": (h, h), "b": (h,), "out": (n, t, h)}


def _in_out(w: Any, c: Case) -> Any:
    """gradcheck's layout (one row per output) of a weight given in ``c["layout"]``."""
    return w.T if c["layout"] == "in_out" else w


def _pool_reference(a: Mapping[str, Any], c: Case) -> Reference:
    window = {"kernel": (c["pool_height"], c["pool_width"]), "stride": (c["stride"],) * 2}
    return a["x"], {}, window


LAYER_CONTRACTS: Registry[LayerContract] = Registry("course layer contract", "layer-level kind")
LAYER_CONTRACTS.add(
    "dense",
    LayerContract(
        "dense",
        "affine_forward(x, w, b) -> (out, cache)",
        "affine_backward(dout, cache) -> (dx, dw, db)",
        ("w", "b"),
        None,
        (),
        ("N", "D", "M", "layout", "data_seed"),
        _dense_shapes,
        lambda a, c: (a["x"], {"W": _in_out(a["w"], c), "b": a["b"]}, {}),
        defaults={"layout": "in_out"},
    ),
)
LAYER_CONTRACTS.add(
    "residual",
    LayerContract(
        "residual",
        "residual_forward(x, w, b) -> (out, cache)",
        "residual_backward(dout, cache) -> (dx, dw, db)",
        ("w", "b"),
        None,
        (),
        ("N", "D", "layout", "data_seed"),
        _residual_shapes,
        lambda a, c: (a["x"], {"W": _in_out(a["w"], c), "b": a["b"]}, {}),
        defaults={"layout": "in_out"},
    ),
)
LAYER_CONTRACTS.add(
    "conv2d",
    LayerContract(
        "conv2d",
        "conv_forward(x, w, b, conv_param) -> (out, cache)",
        "conv_backward(dout, cache) -> (dx, dw, db)",
        ("w", "b"),
        "conv_param",
        ("stride", "pad"),
        ("N", "C", "H", "W", "F", "HH", "WW", "stride", "pad", "data_seed"),
        _conv_shapes,
        lambda a, c: (
            a["x"],
            {"W": a["w"], "b": a["b"]},
            {"stride": c["stride"], "padding": c["pad"]},
        ),
    ),
)
_POOL_KNOBS = ("N", "C", "H", "W", "pool_height", "pool_width", "stride", "data_seed")
_POOL = ("pool_param", ("pool_height", "pool_width", "stride"))
for _kind, _verb in (("max_pool2d", "max_pool"), ("avg_pool2d", "avg_pool")):
    LAYER_CONTRACTS.add(
        _kind,
        LayerContract(
            _kind,
            f"{_verb}_forward(x, pool_param) -> (out, cache)",
            f"{_verb}_backward(dout, cache) -> dx",
            (),
            *_POOL,
            _POOL_KNOBS,
            _pool_shapes,
            _pool_reference,
        ),
    )
LAYER_CONTRACTS.add(
    "flatten",
    LayerContract(
        "flatten",
        "flatten_forward(x) -> (out, cache)",
        "flatten_backward(dout, cache) -> dx",
        (),
        None,
        (),
        ("N", "C", "H", "W", "data_seed"),
        lambda c: {
            "x": (c["N"], c["C"], c["H"], c["W"]),
            "out": (c["N"], c["C"] * c["H"] * c["W"]),
        },
        lambda a, c: (a["x"], {}, {}),
    ),
)
for _kind, _verb, _arg in (
    ("batch_norm", "batchnorm", "bn_param"),
    ("layer_norm", "layernorm", "ln_param"),
):
    LAYER_CONTRACTS.add(
        _kind,
        LayerContract(
            _kind,
            f"{_verb}_forward(x, gamma, beta, {_arg}) -> (out, cache)",
            f"{_verb}_backward(dout, cache) -> (dx, dgamma, dbeta)",
            ("gamma", "beta"),
            _arg,
            ("eps",),
            ("N", "D", "eps", "data_seed"),
            _norm_shapes,
            lambda a, c: (a["x"], {"gamma": a["gamma"], "beta": a["beta"]}, {"eps": c["eps"]}),
        ),
    )
LAYER_CONTRACTS.add(
    "dropout",
    LayerContract(
        "dropout",
        "dropout_forward(x, dropout_param) -> (out, cache)",
        "dropout_backward(dout, cache) -> dx",
        (),
        "dropout_param",
        ("p",),
        ("N", "D", "p", "data_seed"),
        lambda c: {"x": (c["N"], c["D"]), "mask": (c["N"], c["D"]), "out": (c["N"], c["D"])},
        lambda a, c: (a["x"], {}, {"mask": a["mask"], "rate": c["p"]}),
        extras=("mask",),
    ),
)
LAYER_CONTRACTS.add(
    "rnn",
    LayerContract(
        "rnn",
        "rnn_forward(x, h0, Wx, Wh, b) -> (h, cache)",
        "rnn_backward(dh, cache) -> (dx, dh0, dWx, dWh, db)",
        ("h0", "Wx", "Wh", "b"),
        None,
        (),
        ("N", "T", "D", "H", "layout", "data_seed"),
        _rnn_shapes,
        lambda a, c: (
            a["x"],
            {"Wxh": _in_out(a["Wx"], c), "Whh": _in_out(a["Wh"], c), "b": a["b"], "h0": a["h0"]},
            {"all_states": True},
        ),
        defaults={"layout": "in_out"},
        output="h",
    ),
)

# What each knob may be: (test, what is valid), checked where a caller's value enters.
_INT = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "an integer >= 1")
_KNOB_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    **dict.fromkeys(
        ("N", "C", "H", "W", "F", "HH", "WW", "D", "M", "T", "stride", "pool_height"), _INT
    ),
    "pool_width": _INT,
    "pad": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0"),
    "data_seed": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "an integer >= 0",
    ),
    "eps": (lambda v: isinstance(v, int | float) and 0 < v < 1, "a number in (0, 1)"),
    "p": (lambda v: isinstance(v, int | float) and 0 <= v < 1, "a drop rate in [0, 1)"),
    "layout": (lambda v: v in ("in_out", "out_in"), "'in_out' (course code) or 'out_in'"),
}


def check_knobs(kind: str, fixed: Mapping[str, Any]) -> None:
    """Raise :class:`LayerOptionError` (one line) for a knob ``kind`` has not or a bad value."""
    contract = LAYER_CONTRACTS[kind]
    for name, value in fixed.items():
        if name not in contract.knobs:
            raise LayerOptionError(
                f"verify_layer {kind}: no option {name!r} (options: {', '.join(contract.knobs)})"
            )
        test, valid = _KNOB_RULES[name]
        if not test(value):
            raise LayerOptionError(
                f"verify_layer {kind}: option {name}: expected {valid}, got {value!r}"
            )


def _table() -> str:
    rows = [("kind", "forward / backward", "its options dict holds", "--option knobs")]
    for name in LAYER_CONTRACTS:
        c = LAYER_CONTRACTS[name]
        fixed = (f"{k}={v!r}" for k, v in c.fixed_keys.items())  # always so: not a knob
        keys = ", ".join((*c.option_keys, *c.extras, *fixed)) if c.options_arg else "-"
        rows.append((name, c.forward, keys, ", ".join(c.knobs)))
        rows.append(("", c.backward, "", ""))
    return "\n".join(f"{k:<11} {f:<62} {o:<33} {n}".rstrip() for k, f, o, n in rows)


CONTRACT_TABLE = _table()
