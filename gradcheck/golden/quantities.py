"""Quantities: what a documented number claims to be, and its value on a training run.

:func:`parse_quantity` resolves ``KIND[:ARG][@STEP][#SAMPLE]`` against a spec's unit and
parameter names; :func:`quantity_value` computes it on a :class:`Trajectory` (one network trained
under one update rule) with the hand-derived backprop, in float64. STEP counts training steps
taken before (default 0). SAMPLE is the 0-based batch row.

``#S`` means *sample S alone*: the loss, derivatives and gradient of the one-row batch of sample
S. A unit's value (``out:h1``, ``delta:o1``, ...) is always one sample's, so ``#S`` is required
when the batch has several rows; ``loss``, ``grad:`` and ``updated:`` without it are the whole
batch's; ``param:`` and ``dnet_dout:`` are the same for every sample and refuse ``#S``.

==========================  ==============================================================
``loss``                    E of the batch (``loss#1``: of sample 1 alone), with the
                            spec's weight decay lambda/2 sum W^2 where it has one
``loss:o1``                 the loss of output o1 alone (``half_sse``: 1/2 (t - out)^2),
                            never a weight decay
``error:o1``                out - target of an output unit (prediction minus target)
``net:h1`` / ``out:h1``     net input / output of a unit (``out:i1`` is an input)
``dloss_dout:h1``           dE/dout
``dout_dnet:h1``            act'(net)
``delta:h1``                dE/dnet
``dloss_dout_via:h1<-o1``   dE/dout_h1 through o1 only: delta_o1 * w(h1->o1)
``dnet_dout:h1->o1``        dnet_o1/dout_h1 = w(h1->o1)
``dnet_dparam:w5``          dnet/dw5: the output feeding w5 (1 for a bias)
``grad:w5``                 dE/dw5 as the update rule applies it
``param:w5``, ``updated:w5``  w5 now, and after one more step (needs a learning rate)
==========================  ==============================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from gradcheck.hand.backprop import backward, forward, full_params, loss_value
from gradcheck.hand.losses import HAND_LOSSES
from gradcheck.hand.training import train_numpy
from gradcheck.spec import GradientFn, Location, Params, Spec, SpecError

__all__ = [
    "LOSS_SCALED_KINDS",
    "Quantity",
    "Trajectory",
    "parse_quantity",
    "quantity_value",
    "resolve_quantity",
    "siblings",
]


@dataclass(frozen=True)
class Quantity:
    """A parsed quantity: ``units`` are (layer, index) pairs, ``param`` a parameter location;
    ``alone``: ``loss``, ``grad:`` or ``updated:`` of sample ``sample`` alone (``#S`` given)."""

    text: str
    kind: str
    units: tuple[tuple[int, int], ...]
    param: Location | None
    step: int
    sample: int
    alone: bool = False

    @property
    def needs_learning_rate(self) -> bool:
        return self.step > 0 or self.kind == "updated"


_UNIT_KINDS = ("net", "out", "dloss_dout", "dout_dnet", "delta", "error")
_EDGE_KINDS = {"dloss_dout_via": "<-", "dnet_dout": "->"}
_PARAM_KINDS = ("grad", "param", "updated", "dnet_dparam")
_BATCH_KINDS = ("loss", "grad", "updated")  # the batch's without #S, one sample's with it
_SAMPLE_FREE = ("param", "dnet_dout")  # the same for every sample
_KINDS = ("loss", *_UNIT_KINDS, *_EDGE_KINDS, *_PARAM_KINDS)
LOSS_SCALED_KINDS = frozenset({"loss", "dloss_dout", "delta", "dloss_dout_via", "grad"})
"""Kinds that are E or a derivative of E: a constant factor on the loss scales them all."""
_PATTERN = re.compile(
    r"(?P<kind>[a-z_]+)(?::(?P<arg>[^@#\s]+))?(?:@(?P<step>\d+))?(?:#(?P<s>\d+))?"
)


def parse_quantity(spec: Spec, text: str, field: str = "quantity") -> Quantity:
    """Resolve ``KIND[:ARG][@STEP][#SAMPLE]`` against the spec's unit and parameter names;
    :class:`SpecError` names the spec file, ``field`` and the text."""
    try:
        return resolve_quantity(spec, text, field)
    except SpecError as exc:
        raise SpecError(f"{spec.path}: {exc}") from None


def resolve_quantity(spec: Spec, text: str, field: str) -> Quantity:
    """:func:`parse_quantity` without the file in the error, for collecting several in one."""

    def bad(why: str) -> SpecError:
        return SpecError(f"{field}: {why} (got {text!r})")

    m = _PATTERN.fullmatch(text.strip())
    if m is None:
        raise bad("expected KIND[:ARG][@STEP][#SAMPLE], e.g. 'grad:w5' or 'out:o1@10000'")
    kind, arg, n_samples = m["kind"], m["arg"], len(spec.model.samples)
    if kind not in _KINDS:
        raise bad(f"unknown kind {kind!r}; one of {', '.join(_KINDS)}")
    if m["s"] is not None and kind in _SAMPLE_FREE:
        raise bad(f"{kind!r} is the same for every sample: drop '#{m['s']}'")
    if m["s"] is None and n_samples > 1 and kind not in (*_BATCH_KINDS, *_SAMPLE_FREE):
        raise bad(f"the batch has {n_samples} samples: add '#0'..'#{n_samples - 1}'")
    sample = int(m["s"] or 0)
    if sample >= n_samples:
        raise bad(f"sample {sample} does not exist; the batch has {n_samples}")
    if kind != "loss" and arg is None:
        raise bad(f"{kind!r} needs an argument")

    def unit(name: str, hidden_or_output: bool = True) -> tuple[int, int]:
        if name not in spec.unit_names:
            raise bad(f"unknown unit {name!r}; known: {', '.join(spec.unit_names)}")
        at = spec.unit_names[name]
        if hidden_or_output and at[0] == 0:
            raise bad(f"{name!r} is an input; {kind!r} needs a hidden or output unit")
        return at

    units: tuple[tuple[int, int], ...] = ()
    param: Location | None = None
    if kind in (*_UNIT_KINDS, "loss") and arg is not None:
        units = (unit(str(arg), hidden_or_output=kind != "out"),)
        if kind in ("error", "loss") and units[0][0] != len(spec.sizes) - 1:
            raise bad(f"{kind!r} takes an output unit, {arg!r} is not one")
        if kind == "loss" and m["s"] is None and n_samples > 1:
            raise bad(f"the batch has {n_samples} samples: add '#0'..'#{n_samples - 1}'")
    elif kind in _EDGE_KINDS:
        a, sep, b = str(arg).partition(_EDGE_KINDS[kind])
        if not sep:
            raise bad(f"{kind!r} takes two units joined by {_EDGE_KINDS[kind]!r}")
        units = (unit(a, hidden_or_output=False), unit(b))
        if units[1][0] != units[0][0] + 1:
            raise bad(f"{b!r} is not in the layer right after {a!r}")
    elif kind in _PARAM_KINDS:
        if arg not in spec.param_names:
            raise bad(f"unknown parameter {arg!r}; known: {', '.join(spec.param_names)}")
        param = spec.param_names[str(arg)]
        if kind == "grad" and not spec.is_trainable(param[0], param[1]):
            raise bad(f"{arg!r} is frozen and has no gradient")
    alone = m["s"] is not None and kind in _BATCH_KINDS and not units
    q = Quantity(text, kind, units, param, int(m["step"] or 0), sample, alone)
    if q.needs_learning_rate and spec.model.optimizer.learning_rate is None:
        raise bad("a training step needs the document's learning rate: set optimizer.learning_rate")
    return q


class Trajectory:
    """One network trained under one update rule; parameters per step computed on demand."""

    def __init__(self, spec: Spec, rule: GradientFn) -> None:
        self.spec, self.rule = spec, rule
        self._params: dict[int, Params] = {0: spec.initial_params()}

    def params(self, step: int) -> Params:
        if step not in self._params:
            start = max(k for k in self._params if k < step)
            n = step - start
            self._params[step] = train_numpy(self.spec, n, self._params[start], self.rule, n)[0]
        return self._params[step]


def quantity_value(q: Quantity, run: Trajectory) -> float:
    """The quantity at its step, on the run's parameters, via the hand-derived backprop."""
    spec = run.spec
    params, s = run.params(q.step), q.sample
    x, t = spec.inputs(), spec.targets()
    if q.alone or q.units or q.kind == "dnet_dparam":  # one sample's value: its one-row batch
        x, t = x[s : s + 1], t[s : s + 1]
    if q.kind in ("param", "updated"):
        assert q.param is not None  # parse_quantity sets it for parameter kinds
        layer, group, index = q.param
        now = full_params(spec, params)[layer][group][index]
        if q.kind == "param" or not spec.is_trainable(layer, group):
            return float(now)
        if not q.alone:
            return float(full_params(spec, run.params(q.step + 1))[layer][group][index])
        return float(now - spec.learning_rate * run.rule(spec, params, x, t)[layer][group][index])
    if q.kind == "loss" and not q.units:
        return loss_value(spec, params, x, t)
    if q.kind == "grad":
        assert q.param is not None
        layer, group, index = q.param
        return float(run.rule(spec, params, x, t)[layer][group][index])
    fwd = forward(spec, params, x)
    if q.kind == "dnet_dparam":
        assert q.param is not None
        layer, group, index = q.param
        return 1.0 if group == "b" else float(fwd.outs[layer][0, index[1]])
    (la, ja), *rest = q.units
    if q.kind == "out":
        return float(fwd.outs[la][0, ja])
    if q.kind == "net":
        return float(fwd.nets[la - 1][0, ja])
    if q.kind == "error":
        return float(fwd.outs[la][0, ja] - t[0, ja])
    if q.kind == "loss":  # one output's loss: the loss of that output alone
        return float(HAND_LOSSES[spec.loss].value(fwd.outs[la][:, ja : ja + 1], t[:, ja : ja + 1]))
    if q.kind == "dnet_dout":
        return float(full_params(spec, params)[la]["W"][rest[0][1], ja])
    bwd = backward(spec, params, fwd, t)
    if q.kind == "dloss_dout_via":
        (lb, jb) = rest[0]
        return float(bwd.deltas[lb - 1][0, jb] * full_params(spec, params)[la]["W"][jb, ja])
    table = {"dloss_dout": bwd.dloss_dout, "dout_dnet": bwd.dout_dnet, "delta": bwd.deltas}
    return float(table[q.kind][la - 1][0, ja])


def siblings(spec: Spec, q: Quantity) -> Iterator[Quantity]:
    """Quantities of the same kind, step and sample as ``q`` but another unit or parameter."""
    if q.kind in _PARAM_KINDS:
        args = list(spec.param_names)
    elif q.kind in _EDGE_KINDS:
        sep = _EDGE_KINDS[q.kind]
        args = [f"{a}{sep}{b}" for a in spec.unit_names for b in spec.unit_names]
    else:
        args = list(spec.unit_names) if q.units else []
    several = len(spec.model.samples) > 1
    sample = (
        f"#{q.sample}" if (q.units or q.alone) and several and q.kind not in _SAMPLE_FREE else ""
    )
    suffix = (f"@{q.step}" if q.step else "") + sample
    for arg in args:
        try:
            sibling = resolve_quantity(spec, f"{q.kind}:{arg}{suffix}", "sibling")
        except SpecError:  # not a valid argument for this kind (e.g. an input for delta)
            continue
        if (sibling.units, sibling.param) != (q.units, q.param):
            yield sibling
