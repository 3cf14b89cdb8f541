"""The network recomputed in high precision (mpmath, 60 significant digits), and asked what-ifs.

An independent side of its own (its activations, losses and layer kinds are in
:mod:`gradcheck.golden.precise_layers`). Numbers enter as the spec writes them (a float read as
its shortest decimal, ``0.15`` and not the float nearest it). :class:`Pass` is one forward and
backward pass over some samples; it keeps every intermediate under a :data:`Key`, and a value in
``overrides`` replaces the one computed there, so that a question such as "what does the
document get for out_o1 if it carries its misprinted net_h1 on?" is one pass. :func:`value_of`
reads a :class:`~gradcheck.golden.quantities.Quantity` from passes; :class:`PreciseTrajectory`
trains with true gradient descent in high precision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from gradcheck.golden.precise_layers import (
    CTX,
    PRECISE_ACTIVATIONS,
    PRECISE_KINDS,
    PRECISE_LOSSES,
    Groups,
    Num,
    PreciseActivation,
    Row,
    Rows,
)
from gradcheck.golden.quantities import Quantity
from gradcheck.golden.readings import to_fraction as _to_fraction
from gradcheck.layers import loss_info
from gradcheck.spec import Params, Spec

__all__ = [
    "Formula",
    "Key",
    "Pass",
    "PreciseTrajectory",
    "as_groups",
    "number",
    "override_key",
    "to_fraction",
    "value_of",
]

Key = tuple[Any, ...]


def number(x: float | str) -> Num:
    """A spec's number as written: a float is read as its shortest decimal."""
    return CTX.mpf(repr(float(x)) if not isinstance(x, str) else x)


def to_fraction(x: Num) -> Fraction:
    """The exact binary fraction an mpf holds (a non-finite one raises ArithmeticError)."""
    try:
        return _to_fraction(x)
    except ArithmeticError as exc:
        raise ArithmeticError(f"no exact value: {exc}") from None


# -- one pass --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Formula:
    """How a pass departs from the delta rule (hypotheses about a document's formula):
    ``output_derivative`` is how many times act'(net) enters the output layer's delta (1 right,
    0 left out, 2 applied twice)."""

    output_derivative: int = 1


def as_groups(spec: Spec, params: Params) -> list[Groups]:
    """Trainable and frozen groups per layer in high precision, each number as written."""
    out: list[Groups] = []
    for p, f in zip(params, spec.frozen_params(), strict=True):
        groups: Groups = {}
        for k, a in {**f, **p}.items():
            groups[k] = number(float(a)) if a.ndim == 0 else _nested(a.tolist())
        out.append(groups)
    return out


def _nested(values: Any) -> Any:
    return [_nested(v) for v in values] if isinstance(values, list) else number(values)


def _at(groups: list[Groups], layer: int, group: str, index: tuple[int, ...]) -> Num:
    value = groups[layer][group]
    for i in index:
        value = value[i]
    return value


def _set(groups: list[Groups], layer: int, group: str, index: tuple[int, ...], v: Num) -> None:
    if not index:
        groups[layer][group] = v
        return
    target = groups[layer][group]
    for i in index[:-1]:
        target = target[i]
    target[index[-1]] = v


class Pass:
    """A forward and backward pass over the samples ``rows`` (a one-row batch is "sample S
    alone"), every intermediate kept in ``values`` under its :data:`Key`; ``overrides`` replace
    computed values (backward ones only in a one-row pass, where they are one sample's)."""

    def __init__(
        self,
        spec: Spec,
        groups: list[Groups],
        rows: tuple[int, ...],
        overrides: Mapping[Key, Num] | None = None,
        formula: Formula | None = None,
    ) -> None:
        self.spec, self.rows = spec, rows
        self.overrides: Mapping[Key, Num] = overrides or {}
        self.formula = formula or Formula()
        self.groups = [{k: _copy(v) for k, v in g.items()} for g in groups]
        for key, v in self.overrides.items():
            if key[0] == "param":
                _set(self.groups, key[1], key[2], key[3], v)
        self.values: dict[Key, Num] = {}
        self.outs: list[Rows] = []
        self.nets: list[Rows] = []
        self._forward()
        self.grads: list[Groups] | None = None

    def _put(self, key: Key, value: Num, backward: bool = False) -> Num:
        if key in self.overrides and (not backward or len(self.rows) == 1):
            value = self.overrides[key]
        self.values[key] = value
        return value

    def _forward(self) -> None:
        spec, inputs = self.spec, self.spec.inputs()
        self.outs = [[[number(float(v)) for v in inputs[s]] for s in self.rows]]
        for layer in range(1, len(spec.sizes)):
            kind = PRECISE_KINDS[spec.kinds[layer - 1]]
            act = PRECISE_ACTIVATIONS[spec.activations[layer - 1]]
            slope = number(spec.slopes[layer - 1])
            nets, outs = [], []
            for r, s in enumerate(self.rows):
                net = kind.net(self.groups[layer - 1], self.outs[-1][r])
                net = [self._put(("net", layer, j, s), v) for j, v in enumerate(net)]
                out = act.value(net, slope)
                outs.append([self._put(("out", layer, j, s), v) for j, v in enumerate(out)])
                nets.append(net)
            self.nets.append(nets)
            self.outs.append(outs)

    def targets(self) -> Rows:
        t = self.spec.targets()
        return [[number(float(v)) for v in t[s]] for s in self.rows]

    def loss(self) -> Num:
        """E of the rows, plus the weight decay ``lambda/2 sum W^2`` where the spec has one."""
        value = PRECISE_LOSSES[self.spec.loss].value(self.outs[-1], self.targets())
        return value + self._decay() if self.spec.weight_decay else value

    def _decay(self) -> Num:
        """``lambda/2 sum W^2`` over every layer's decayed groups, frozen ones too."""
        squares = [
            v * v
            for groups, decayed in zip(self.groups, self.spec.decayed, strict=True)
            for name in sorted(decayed & set(groups))
            for v in _flat(groups[name])
        ]
        return number(self.spec.weight_decay) / 2 * CTX.fsum(squares)

    def backward(self) -> list[Groups]:
        """Every derivative down to the parameter gradients (computed once)."""
        if self.grads is not None:
            return self.grads
        spec, n = self.spec, len(self.spec.sizes) - 1
        loss = PRECISE_LOSSES[spec.loss]
        t = self.targets()
        upstream = loss.gradient(self.outs[-1], t)
        grads: list[Groups] = [{} for _ in range(n)]
        for layer in range(n, 0, -1):
            act = PRECISE_ACTIVATIONS[spec.activations[layer - 1]]
            slope = number(spec.slopes[layer - 1])
            deltas = []
            for r, s in enumerate(self.rows):
                g = [
                    self._put(("dloss_dout", layer, j, s), v, True)
                    for j, v in enumerate(upstream[r])
                ]
                z, o = self.nets[layer - 1][r], self.outs[layer][r]
                d = [
                    self._put(("dout_dnet", layer, j, s), act.derivative(z[j], o[j], slope), True)
                    for j in range(len(z))
                ]
                deltas.append(self._delta(layer, r, s, g, d, act, t))
            kind = PRECISE_KINDS[spec.kinds[layer - 1]]
            grads[layer - 1] = kind.param_grads(
                self.groups[layer - 1], deltas, self.outs[layer - 1]
            )
            lam = number(spec.weight_decay)
            for group in sorted(spec.decayed[layer - 1]) if spec.weight_decay else ():
                # + lambda W: d/dW of lambda/2 W^2
                done = grads[layer - 1]
                done[group] = _plus(done[group], self.groups[layer - 1][group], lam)
            if layer > 1:
                upstream = []
                for r, s in enumerate(self.rows):
                    terms = kind.edge_terms(self.groups[layer - 1], deltas[r])
                    via = [
                        [self._put(("via", layer - 1, j, k, s), v, True) for k, v in enumerate(row)]
                        for j, row in enumerate(terms)
                    ]
                    upstream.append([CTX.fsum(row) for row in via])
        for key, v in self.overrides.items():
            if key[0] == "grad" and key[4] == self.rows:
                _set(grads, key[1], key[2], key[3], v)
        self.grads = grads
        return grads

    def _delta(
        self, layer: int, r: int, s: int, g: Row, d: Row, act: PreciseActivation, t: Rows
    ) -> Row:
        spec, last = self.spec, layer == len(self.spec.sizes) - 1
        power = self.formula.output_derivative if last else 1
        fused = loss_info(spec.loss).output_activation == spec.activations[layer - 1]
        loss = PRECISE_LOSSES[spec.loss]
        if last and fused and loss.fused_delta is not None:  # over every row: B divides
            row = loss.fused_delta(self.outs[layer], t)[r]
            row = [v * dj ** (power - 1) for v, dj in zip(row, d, strict=True)]
        elif act.jacobian_product is not None:
            row = act.jacobian_product(g, self.outs[layer][r])
        else:
            row = [gj * dj**power for gj, dj in zip(g, d, strict=True)]
        return [self._put(("delta", layer, j, s), v, True) for j, v in enumerate(row)]


def _flat(v: Any) -> list[Num]:
    return [x for item in v for x in _flat(item)] if isinstance(v, list) else [v]


def _plus(grad: Any, value: Any, lam: Num) -> Any:
    """``grad + lam value``, elementwise over nested rows."""
    if isinstance(grad, list):
        return [_plus(g, v, lam) for g, v in zip(grad, value, strict=True)]
    return grad + lam * value


def _copy(v: Any) -> Any:
    return [_copy(x) for x in v] if isinstance(v, list) else v


# -- quantities ------------------------------------------------------------------------------
def override_key(spec: Spec, q: Quantity) -> tuple[int, Key] | None:
    """(step, key) of the intermediate a print of ``q`` stands for when a document carries it
    on: a unit's value, a weight, or a parameter after an update; None for an end result."""
    s = q.sample
    if q.kind in ("net", "out", "dloss_dout", "dout_dnet", "delta"):
        (layer, j), *_ = q.units
        return q.step, (q.kind, layer, j, s)
    if q.kind == "dloss_dout_via":
        (la, ja), (_, jb) = q.units
        return q.step, ("via", la, ja, jb, s)
    if q.kind == "dnet_dout":
        (la, ja), (_, jb) = q.units
        return q.step, ("param", la, "W", (jb, ja))
    if q.kind == "dnet_dparam" and q.param is not None and q.param[1] == "W":
        return q.step, ("out", q.param[0], q.param[2][1], s)
    if q.kind == "param" and q.param is not None:
        return q.step, ("param", *q.param)
    if q.kind == "updated" and q.param is not None and not q.alone:
        return q.step + 1, ("param", *q.param)
    if q.kind == "grad" and q.param is not None:
        return q.step, ("grad", *q.param, _rows(spec, q))
    return None


def _rows(spec: Spec, q: Quantity) -> tuple[int, ...]:
    if q.alone or q.units or q.kind == "dnet_dparam":
        return (q.sample,)
    return tuple(range(len(spec.model.samples)))


def value_of(
    spec: Spec,
    q: Quantity,
    groups: list[Groups],
    overrides: Mapping[Key, Num] | None = None,
    formula: Formula | None = None,
) -> Num:
    """``q`` (at the step whose parameters ``groups`` are) in high precision."""
    if q.kind == "dnet_dparam" and q.param is not None and q.param[1] == "b":
        return CTX.mpf(1)
    p = Pass(spec, groups, _rows(spec, q), overrides, formula)
    if q.param is not None and q.kind in ("param", "updated", "grad"):
        layer, group, index = q.param
        now = _at(p.groups, layer, group, index)
        if q.kind == "param" or (q.kind == "updated" and not spec.is_trainable(layer, group)):
            return now
        grad = _at(p.backward(), layer, group, index)
        return grad if q.kind == "grad" else now - number(spec.learning_rate) * grad
    if q.kind == "loss" and not q.units:
        return p.loss()
    if q.kind == "dnet_dparam" and q.param is not None:
        return p.outs[q.param[0]][0][q.param[2][1]]
    (la, ja), *rest = q.units
    if q.kind in ("net", "out"):
        return p.values[(q.kind, la, ja, q.sample)]
    if q.kind == "dnet_dout":
        return p.groups[la]["W"][rest[0][1]][ja]
    if q.kind in ("error", "loss"):  # an output unit's
        o, t = p.outs[la][0][ja], p.targets()[0][ja]
        return o - t if q.kind == "error" else PRECISE_LOSSES[spec.loss].value([[o]], [[t]])
    p.backward()
    if q.kind == "dloss_dout_via":
        return p.values[("via", la, ja, rest[0][1], q.sample)]
    return p.values[(q.kind, la, ja, q.sample)]


class PreciseTrajectory:
    """True gradient descent in high precision: parameters per step, computed on demand."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._groups: dict[int, list[Groups]] = {0: as_groups(spec, spec.initial_params())}

    def groups(self, step: int) -> list[Groups]:
        start = max(k for k in self._groups if k <= step)
        current = self._groups[start]
        rows = tuple(range(len(self.spec.model.samples)))
        for _ in range(step - start):
            grads = Pass(self.spec, current, rows).backward()
            lr = number(self.spec.learning_rate)
            current = [
                {
                    k: _step(v, grads[i].get(k), lr) if self.spec.is_trainable(i, k) else v
                    for k, v in g.items()
                }
                for i, g in enumerate(current)
            ]
        self._groups[step] = current
        return current


def _step(value: Any, grad: Any, lr: Num) -> Any:
    if isinstance(value, list):
        return [_step(v, g, lr) for v, g in zip(value, grad, strict=True)]
    return value - lr * grad
