"""The high-precision side's own activations, losses and layer kinds, in mpmath.

An independent side: every declared activation, loss and layer kind is registered here under its
declared name (:class:`~gradcheck.layers.Registry`; the completeness test holds the registries to
the declarations), written out on lists of mpmath numbers and sharing nothing with the float64
code. :mod:`gradcheck.golden.precise` runs them. Every number is an ``mpf`` of :data:`CTX`
(``Num``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mpmath import MPContext

from gradcheck.errors import GradcheckError
from gradcheck.layers import Registry

__all__ = [
    "CTX",
    "PRECISE_ACTIVATIONS",
    "PRECISE_KINDS",
    "PRECISE_LOSSES",
    "Groups",
    "Num",
    "PreciseActivation",
    "PreciseKind",
    "PreciseLoss",
    "Row",
    "Rows",
]

CTX = MPContext()
CTX.dps = 60
Num = Any  # an mpf of CTX
Row = list[Num]
Rows = list[Row]
Groups = dict[str, Any]  # "W": a Row per output neuron; "b": a Num (shared) or a Row


# -- activations -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PreciseActivation:
    """``value(z_row, slope)``; ``derivative(z, out, slope)`` elementwise (softmax: the diagonal);
    ``jacobian_product(g_row, out_row)`` is ``J^T g`` where the Jacobian is not diagonal."""

    value: Callable[[Row, Num], Row]
    derivative: Callable[[Num, Num, Num], Num]
    jacobian_product: Callable[[Row, Row], Row] | None = None


def _dot(a: Row, b: Row) -> Num:
    return CTX.fsum(x * y for x, y in zip(a, b, strict=True))


def _softmax(z: Row) -> Row:
    top = max(z)
    e = [CTX.exp(v - top) for v in z]
    total = CTX.fsum(e)
    return [v / total for v in e]


PRECISE_ACTIVATIONS: Registry[PreciseActivation] = Registry("high-precision mpmath", "activation")
for _name, _act in {
    "identity": PreciseActivation(lambda z, s: list(z), lambda z, o, s: CTX.mpf(1)),
    "sigmoid": PreciseActivation(
        lambda z, s: [1 / (1 + CTX.exp(-v)) for v in z], lambda z, o, s: o * (1 - o)
    ),
    "tanh": PreciseActivation(lambda z, s: [CTX.tanh(v) for v in z], lambda z, o, s: 1 - o * o),
    "relu": PreciseActivation(
        lambda z, s: [v if v > 0 else CTX.mpf(0) for v in z],
        lambda z, o, s: CTX.mpf(1 if z > 0 else 0),
    ),
    "leaky_relu": PreciseActivation(
        lambda z, s: [v if v > 0 else s * v for v in z],
        lambda z, o, s: CTX.mpf(1) if z > 0 else s,
    ),
    "softplus": PreciseActivation(
        lambda z, s: [CTX.log1p(CTX.exp(v)) for v in z], lambda z, o, s: 1 / (1 + CTX.exp(-z))
    ),
    "elu": PreciseActivation(
        lambda z, s: [v if v > 0 else CTX.expm1(v) for v in z],
        lambda z, o, s: CTX.mpf(1) if z > 0 else CTX.exp(z),
    ),
    "softmax": PreciseActivation(
        lambda z, s: _softmax(z),
        lambda z, o, s: o * (1 - o),
        lambda g, o: [oj * (gj - _dot(g, o)) for gj, oj in zip(g, o, strict=True)],
    ),
}.items():
    PRECISE_ACTIVATIONS.add(_name, _act)


# -- losses ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreciseLoss:
    """``value(outs, targets)``: E of these rows (B = their number); ``gradient``: dE/dout;
    ``fused_delta``: dE/dnet in one step, for the output activation the loss declares."""

    value: Callable[[Rows, Rows], Num]
    gradient: Callable[[Rows, Rows], Rows]
    fused_delta: Callable[[Rows, Rows], Rows] | None = None


def _each(o: Rows, t: Rows, f: Callable[[Num, Num], Num]) -> Rows:
    return [[f(a, b) for a, b in zip(ro, rt, strict=True)] for ro, rt in zip(o, t, strict=True)]


def _total(rows: Rows) -> Num:
    return CTX.fsum(v for row in rows for v in row)


PRECISE_LOSSES: Registry[PreciseLoss] = Registry("high-precision mpmath", "loss")
PRECISE_LOSSES.add(
    "half_sse",
    PreciseLoss(
        lambda o, t: _total(_each(o, t, lambda a, b: (b - a) ** 2)) / 2,
        lambda o, t: _each(o, t, lambda a, b: a - b),
    ),
)
PRECISE_LOSSES.add(
    "sse",
    PreciseLoss(
        lambda o, t: _total(_each(o, t, lambda a, b: (a - b) ** 2)),
        lambda o, t: _each(o, t, lambda a, b: 2 * (a - b)),
    ),
)
PRECISE_LOSSES.add(
    "mse",
    PreciseLoss(
        lambda o, t: _total(_each(o, t, lambda a, b: (a - b) ** 2)) / (len(o) * len(o[0])),
        lambda o, t: _each(o, t, lambda a, b: 2 * (a - b) / (len(o) * len(o[0]))),
    ),
)
PRECISE_LOSSES.add(
    "softmax_cross_entropy",
    PreciseLoss(
        lambda o, t: -_total(_each(o, t, lambda a, b: b * CTX.ln(a))) / len(o),
        lambda o, t: _each(o, t, lambda a, b: -b / (a * len(o))),
        lambda o, t: [
            [(a * CTX.fsum(rt) - b) / len(o) for a, b in zip(ro, rt, strict=True)]
            for ro, rt in zip(o, t, strict=True)
        ],
    ),
)


# -- layer kinds -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PreciseKind:
    """``net(groups, x_row)``; ``edge_terms(groups, delta_row)[j][k]``: unit k's part of dE/dx_j;
    ``param_grads(groups, deltas, xs)``: dE/d each group, summed over the rows."""

    net: Callable[[Groups, Row], Row]
    edge_terms: Callable[[Groups, Row], Rows]
    param_grads: Callable[[Groups, Rows, Rows], Groups]


def _dense_net(g: Groups, x: Row) -> Row:
    b = g.get("b")
    out = []
    for j, w in enumerate(g["W"]):
        bias = 0 if b is None else b[j] if isinstance(b, list) else b
        out.append(CTX.fsum(wk * xk for wk, xk in zip(w, x, strict=True)) + bias)
    return out


def _dense_grads(g: Groups, deltas: Rows, xs: Rows) -> Groups:
    n_out, n_in = len(g["W"]), len(g["W"][0])
    grads: Groups = {
        "W": [
            [CTX.fsum(d[j] * x[k] for d, x in zip(deltas, xs, strict=True)) for k in range(n_in)]
            for j in range(n_out)
        ]
    }
    if "b" in g:
        per_neuron = [CTX.fsum(d[j] for d in deltas) for j in range(n_out)]
        grads["b"] = per_neuron if isinstance(g["b"], list) else CTX.fsum(per_neuron)
    return grads


PRECISE_KINDS: Registry[PreciseKind] = Registry("high-precision mpmath", "layer kind")
PRECISE_KINDS.add(
    "dense",
    PreciseKind(
        _dense_net,
        lambda g, d: [[d[k] * g["W"][k][j] for k in range(len(d))] for j in range(len(g["W"][0]))],
        _dense_grads,
    ),
)


def _dense_only(kind: str) -> Callable[..., Any]:
    def refuse(*_: Any) -> Any:
        raise GradcheckError(
            f"golden: layer kind {kind!r} has no 60-digit recomputation; golden documents are "
            "networks of dense layers (check the others with `gradcheck verify`)"
        )

    return refuse


# Golden documents print dense networks only: the image kinds, the norms, rnn and residual blocks
# are registered so that a document naming one gets a clear error, not an unknown name.
for _kind in (
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "dropout",
    "flatten",
    "batch_norm",
    "layer_norm",
    "rnn",
    "residual",
):
    PRECISE_KINDS.add(
        _kind, PreciseKind(_dense_only(_kind), _dense_only(_kind), _dense_only(_kind))
    )
# o = sigmoid(net) in 60 digits: log(1 - o) stays accurate wherever the float64 net lies.
PRECISE_LOSSES.add(
    "binary_cross_entropy",
    PreciseLoss(
        lambda o, t: (
            -_total(_each(o, t, lambda a, b: b * CTX.ln(a) + (1 - b) * CTX.ln(1 - a))) / len(o)
        ),
        lambda o, t: _each(o, t, lambda a, b: (a - b) / (a * (1 - a) * len(o))),
        lambda o, t: _each(o, t, lambda a, b: (a - b) / len(o)),
    ),
)


def _svm_active(o: Row, t: Row) -> Row:
    """Per class ``j``: 1 where ``j != y`` and ``m_j = s_j - s_y + 1 > 0`` (0 at the kink),
    with ``s_y = sum_k t_k s_k``."""
    s_y = _dot(o, t)
    return [CTX.mpf(1 if b == 0 and a - s_y + 1 > 0 else 0) for a, b in zip(o, t, strict=True)]


def _svm_value(o: Rows, t: Rows) -> Num:
    """``(1/B) sum over rows of sum_{j != y} max(0, s_j - s_y + 1)``."""
    hinges = [
        [max(a - _dot(ro, rt) + 1, CTX.mpf(0)) * (1 - b) for a, b in zip(ro, rt, strict=True)]
        for ro, rt in zip(o, t, strict=True)
    ]
    return _total(hinges) / len(o)


def _svm_gradient(o: Rows, t: Rows) -> Rows:
    """``dE/ds_j = [m_j > 0] / B`` for ``j != y``, ``-(their count) / B`` for ``y``."""
    rows = []
    for ro, rt in zip(o, t, strict=True):
        active = _svm_active(ro, rt)
        count = CTX.fsum(active)
        rows.append([(a - b * count) / len(o) for a, b in zip(active, rt, strict=True)])
    return rows


PRECISE_LOSSES.add("svm", PreciseLoss(_svm_value, _svm_gradient))
