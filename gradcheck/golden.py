"""Golden cases: every number a document prints about a network, recomputed and judged.

Each documented value names a quantity and keeps the string exactly as printed. It is recomputed
with true gradient descent (:mod:`gradcheck.backprop`) and judged on the printed digits with
:mod:`decimal`, never with a float tolerance:

* ``match``: the computed value rounded (half up) to the printed decimals equals the print;
* ``match-truncated``: equal only when the computed value is cut at the printed decimals;
* ``discrepancy``: anything else (and any print of a given constant, ``param:`` at step 0,
  that is not its exact value). Its ``cause`` comes from the first detector that explains it:
  the document's own arithmetic reproduces it (``intermediates``, or ``operator`` when only a
  swapped operator does); an alternative update rule reproduces it (``rule``); it repeats an
  earlier print already explained (``repeat``); it is the value of another quantity of the same
  kind (``copied``); it is a one-edit variant of the computed digits (``typo``); the document's
  own arithmetic does not give it (``slip``); otherwise ``unexplained``.

Quantity grammar, ``KIND[:ARG][@STEP][#SAMPLE]``: STEP counts training steps taken before
(default 0), SAMPLE is the batch row (default 0, required when the batch has several rows).

==========================  ==============================================================
``loss``                    E of the batch
``error:o1``                1/2 (t - out)^2 of one output unit (``half_sse`` loss only)
``net:h1`` / ``out:h1``     net input / output of a unit (``out:i1`` is an input)
``dloss_dout:h1``           dE/dout
``dout_dnet:h1``            act'(net)
``delta:h1``                dE/dnet
``dloss_dout_via:h1<-o1``   dE/dout_h1 through o1 only: delta_o1 * w(h1->o1)
``dnet_dout:h1->o1``        dnet_o1/dout_h1 = w(h1->o1)
``dnet_dparam:w5``          dnet/dw5: the output feeding w5 (1 for a bias)
``grad:w5``                 dE/dw5 as the update rule applies it
``param:w5``, ``updated:w5``  w5 now, and after one more step
==========================  ==============================================================

The alternative update rules below are hypotheses about how a document got its numbers, not
product code; true gradient descent is :func:`gradcheck.backprop.hand_grads`.
"""

from __future__ import annotations

import ast
import copy
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Literal

import numpy as np

from gradcheck.backprop import (
    LOSS_TABLE,
    backward,
    forward,
    full_params,
    hand_grads,
    loss_value,
    train_numpy,
)
from gradcheck.spec import (
    Array,
    Documented,
    GradientFn,
    Location,
    Params,
    Spec,
    SpecError,
    parse_spec,
)

__all__ = [
    "RULES",
    "GoldenRecord",
    "Quantity",
    "Verdict",
    "check_spec",
    "code_layout_grads",
    "evaluate_expression",
    "judge",
    "output_first_grads",
    "parse_quantity",
    "summarize",
    "typo",
]

Verdict = Literal["match", "match-truncated", "discrepancy"]


@dataclass(frozen=True)
class GoldenRecord:
    """One documented value, recomputed and judged; ``to_dict()`` is what reports render.

    ``computed`` is true gradient descent; ``alternative`` is the value the explaining hypothesis
    gives (rule, copied quantity or the document's arithmetic), ``alternatives`` every update
    rule's value where it differs from ``computed``.
    """

    network: str
    quantity: str
    where: str
    documented: str
    computed: float
    verdict: Verdict
    cause: str
    digits: int
    finding: str = ""
    rule: str = ""
    alternative: float | None = None
    alternatives: tuple[tuple[str, float], ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["alternatives"] = dict(self.alternatives)
        return d


# -- quantities ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quantity:
    """A parsed quantity: ``units`` are (layer, index) pairs, ``param`` a parameter location."""

    text: str
    kind: str
    units: tuple[tuple[int, int], ...]
    param: Location | None
    step: int
    sample: int


_UNIT_KINDS = ("net", "out", "dloss_dout", "dout_dnet", "delta", "error")
_EDGE_KINDS = {"dloss_dout_via": "<-", "dnet_dout": "->"}
_PARAM_KINDS = ("grad", "param", "updated", "dnet_dparam")
_BATCH_KINDS = ("loss", "grad", "param", "updated")
_KINDS = ("loss", *_UNIT_KINDS, *_EDGE_KINDS, *_PARAM_KINDS)
_PATTERN = re.compile(
    r"(?P<kind>[a-z_]+)(?::(?P<arg>[^@#\s]+))?(?:@(?P<step>\d+))?(?:#(?P<s>\d+))?"
)


def parse_quantity(spec: Spec, text: str, field: str = "quantity") -> Quantity:
    """Resolve ``KIND[:ARG][@STEP][#SAMPLE]`` against the spec's unit and parameter names;
    :class:`SpecError` names the spec file, ``field`` and the text."""
    try:
        return _resolve(spec, text, field)
    except SpecError as exc:
        raise SpecError(f"{spec.path}: {exc}") from None


def _resolve(spec: Spec, text: str, field: str) -> Quantity:
    def bad(why: str) -> SpecError:
        return SpecError(f"{field}: {why} (got {text!r})")

    m = _PATTERN.fullmatch(text.strip())
    if m is None:
        raise bad("expected KIND[:ARG][@STEP][#SAMPLE], e.g. 'grad:w5' or 'out:o1@10000'")
    kind, arg, n_samples = m["kind"], m["arg"], len(spec.model.samples)
    if kind not in _KINDS:
        raise bad(f"unknown kind {kind!r}; one of {', '.join(_KINDS)}")
    if m["s"] is None and n_samples > 1 and kind not in _BATCH_KINDS:
        raise bad(f"the batch has {n_samples} samples: add '#0'..'#{n_samples - 1}'")
    sample = int(m["s"] or 0)
    if sample >= n_samples:
        raise bad(f"sample {sample} does not exist; the batch has {n_samples}")
    if (kind == "loss") != (arg is None):
        raise bad("'loss' takes no argument" if arg else f"{kind!r} needs an argument")

    def unit(name: str, hidden_or_output: bool = True) -> tuple[int, int]:
        if name not in spec.unit_names:
            raise bad(f"unknown unit {name!r}; known: {', '.join(spec.unit_names)}")
        at = spec.unit_names[name]
        if hidden_or_output and at[0] == 0:
            raise bad(f"{name!r} is an input; {kind!r} needs a hidden or output unit")
        return at

    units: tuple[tuple[int, int], ...] = ()
    param: Location | None = None
    if kind in _UNIT_KINDS:
        units = (unit(str(arg), hidden_or_output=kind != "out"),)
        if kind == "error" and (units[0][0] != len(spec.sizes) - 1 or spec.loss != "half_sse"):
            raise bad("'error' needs an output unit of a half_sse network")
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
    return Quantity(text, kind, units, param, int(m["step"] or 0), sample)


class _Run:
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


def _value(q: Quantity, run: _Run) -> float:
    """The quantity at its step, on the run's parameters, via the hand-derived backprop."""
    spec = run.spec
    if q.kind in ("param", "updated"):
        assert q.param is not None  # parse_quantity sets it for parameter kinds
        layer, group, index = q.param
        return float(
            full_params(spec, run.params(q.step + (q.kind == "updated")))[layer][group][index]
        )
    params, x, t = run.params(q.step), spec.inputs(), spec.targets()
    if q.kind == "loss":
        return loss_value(spec, params, x, t)
    if q.kind == "grad":
        assert q.param is not None
        layer, group, index = q.param
        return float(run.rule(spec, params, x, t)[layer][group][index])
    fwd, s = forward(spec, params, x), q.sample
    if q.kind == "dnet_dparam":
        assert q.param is not None
        layer, group, index = q.param
        return 1.0 if group == "b" else float(fwd.outs[layer][s, index[1]])
    (la, ja), *rest = q.units
    if q.kind == "out":
        return float(fwd.outs[la][s, ja])
    if q.kind == "net":
        return float(fwd.nets[la - 1][s, ja])
    if q.kind == "error":
        return float(
            LOSS_TABLE[spec.loss][0](
                fwd.outs[la][s : s + 1, ja : ja + 1], t[s : s + 1, ja : ja + 1]
            )
        )
    if q.kind == "dnet_dout":
        return float(full_params(spec, params)[la]["W"][rest[0][1], ja])
    bwd = backward(spec, params, fwd, t)
    if q.kind == "dloss_dout_via":
        (lb, jb) = rest[0]
        return float(bwd.deltas[lb - 1][s, jb] * full_params(spec, params)[la]["W"][jb, ja])
    table = {"dloss_dout": bwd.dloss_dout, "dout_dnet": bwd.dout_dnet, "delta": bwd.deltas}
    return float(table[q.kind][la - 1][s, ja])


# -- alternative update rules (hypotheses about a document) ----------------------------------
class _NotApplicable(Exception):
    """The rule does not apply to this network's shape."""


def output_first_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Update the top layer first and send each delta down through the *updated* weights:
    ``delta_l = (delta_{l+1} @ (W_{l+1} - lr dE/dW_{l+1})) * act_l'(net_l)``."""
    return _top_down_grads(spec, params, inputs, targets, by_input_index=False)


def code_layout_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """As :func:`output_first_grads`, but a square hidden layer stored transposed pairs each
    weight with its *input's* index: ``dE/dW_l[j, k] = sum_s delta_l[s, k] out_{l-1}[s, k]``."""
    return _top_down_grads(spec, params, inputs, targets, by_input_index=True)


def _top_down_grads(
    spec: Spec, params: Params, inputs: Array, targets: Array, by_input_index: bool
) -> Params:
    fwd = forward(spec, params, inputs)
    bwd = backward(spec, params, fwd, targets)
    layers, n = full_params(spec, params), len(params)
    grads: Params = [{} for _ in range(n)]
    delta, updated_above = bwd.deltas[-1], layers[-1]["W"]
    for i in reversed(range(n)):
        if i < n - 1:
            delta = (delta @ updated_above) * bwd.dout_dnet[i]
        w_grad = delta.T @ fwd.outs[i]
        if by_input_index and i < n - 1:
            if delta.shape[1] != fwd.outs[i].shape[1]:
                raise _NotApplicable
            w_grad = np.broadcast_to((delta * fwd.outs[i]).sum(axis=0), w_grad.shape).copy()
        if "W" in params[i]:
            grads[i]["W"] = w_grad
        if "b" in params[i]:
            b_grad = delta.sum(axis=0)
            grads[i]["b"] = np.asarray(b_grad.sum()) if params[i]["b"].ndim == 0 else b_grad
        trained = "W" in params[i]
        updated_above = layers[i]["W"] - spec.learning_rate * w_grad if trained else layers[i]["W"]
    return grads


RULES: dict[str, tuple[GradientFn, str]] = {
    "gradient-descent": (hand_grads, "every gradient at the old weights"),
    "output-first": (
        output_first_grads,
        "output weights updated first, hidden deltas through the updated output weights",
    ),
    "code-layout": (
        code_layout_grads,
        "output weights updated first, each hidden weight paired with the updated output "
        "weight of its input's index (a transposed weight array)",
    ),
}


def _with_trained_biases(spec: Spec) -> Spec | None:
    """The spec with its frozen biases made trainable, or None if it has none."""
    data = spec.model.model_dump()
    frozen = [ly["bias"] for ly in data["layers"] if ly["bias"]["mode"] != "none"]
    frozen = [b for b in frozen if not b["trainable"]]
    for bias in frozen:
        bias["trainable"] = True
    return parse_spec(data, spec.path) if frozen else None


def _alternative_runs(spec: Spec) -> dict[str, _Run]:
    variants = {"": spec}
    trained = _with_trained_biases(spec)
    if trained is not None:
        variants[" with trained biases"] = trained
    return {
        name + suffix: _Run(variant, fn)
        for suffix, variant in variants.items()
        for name, (fn, _) in RULES.items()
        if (name, suffix) != ("gradient-descent", "")
    }


# -- printed digits --------------------------------------------------------------------------
def _decimal(value: float | Fraction) -> Decimal:
    """A float as its shortest repr (no binary tail to truncate into), a fraction to 60 digits."""
    if isinstance(value, Fraction):
        with localcontext() as ctx:
            ctx.prec = 60
            return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(repr(float(value)))


def _places(printed: str) -> int:
    exponent = Decimal(printed).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _at(value: Decimal, places: int, mode: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return value.quantize(Decimal(1).scaleb(-places), rounding=mode)


def _reproduces(printed: str, value: float | Fraction) -> str | None:
    """'rounded' or 'truncated' if ``value`` gives the printed string at its decimals, else None."""
    v, d, p = _decimal(value), _places(printed), Decimal(printed)
    if not v.is_finite():
        return None
    if _at(v, d, ROUND_HALF_UP) == p:
        return "rounded"
    return "truncated" if _at(v, d, ROUND_DOWN) == p else None


def judge(printed: str, value: float | Fraction) -> Verdict:
    """``match`` if rounding gives the print, ``match-truncated`` if only cutting does."""
    how = _reproduces(printed, value)
    return "match" if how == "rounded" else "match-truncated" if how else "discrepancy"


def _judge_quantity(q: Quantity, printed: str, value: float) -> Verdict:
    """:func:`judge`, except that a given constant of the network (``param:`` before any step,
    such as an initial weight) is exact: any other print of it is a discrepancy, since cutting
    0.55 to "0.5" is not a truncation but a different number."""
    if _is_given(q):
        return "match" if Decimal(printed) == _decimal(value) else "discrepancy"
    return judge(printed, value)


def _is_given(q: Quantity) -> bool:
    return q.kind == "param" and not q.step


def _reproduces_quantity(q: Quantity, printed: str, value: float) -> str | None:
    """:func:`_reproduces`, exact for a given constant (see :func:`_judge_quantity`)."""
    if _is_given(q):
        return "exact" if Decimal(printed) == _decimal(value) else None
    return _reproduces(printed, value)


def _show(value: float | Fraction, places: int) -> str:
    """``value`` with three digits more than printed, trailing zeros dropped."""
    v = _decimal(value)
    if not v.is_finite():
        return str(v).lower()
    text = f"{_at(v, places + 3, ROUND_HALF_UP):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _one_swap(p: str, s: str) -> bool:
    diff = [i for i in range(len(p)) if p[i] != s[i]]
    if len(diff) != 2 or diff[1] != diff[0] + 1:
        return False
    i, j = diff
    return p[i] == s[j] and p[j] == s[i]


def _drops_digit(longer: str, shorter: str) -> bool:
    return any(
        longer[i].isdigit() and longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer))
    )


def _without_point(s: str) -> str:
    sign, digits = ("-", s[1:]) if s.startswith("-") else ("", s)
    return sign + (digits.replace(".", "").lstrip("0") or "0")


_TYPOS: tuple[tuple[str, Callable[[int], Sequence[int]], Callable[[str, str], bool]], ...] = (
    ("the sign is flipped", lambda d: (d,), lambda p, s: p != s and p.lstrip("-") == s.lstrip("-")),
    (
        "the decimal point is missing",
        lambda d: range(1, 20) if d == 0 else (),
        lambda p, s: "." in s and _without_point(s) == p,
    ),
    (
        "two adjacent digits are swapped",
        lambda d: (d,),
        lambda p, s: len(p) == len(s) and _one_swap(p, s),
    ),
    (
        "a digit is dropped",
        lambda d: (d + 1,),
        lambda p, s: len(s) == len(p) + 1 and _drops_digit(s, p),
    ),
    (
        "one digit differs",
        lambda d: (d,),
        lambda p, s: len(p) == len(s) and sum(a != b for a, b in zip(p, s, strict=True)) == 1,
    ),
    ("a digit is inserted", lambda d: (d - 1,) if d else (), lambda p, s: _drops_digit(p, s)),
)


def typo(printed: str, value: float | Fraction) -> str | None:
    """Name the one-edit slip (sign, decimal point, swapped/dropped/changed/inserted digit) that
    turns the computed digits, rounded or truncated, into the printed string; None if none."""
    v, d = _decimal(value), _places(printed)
    if not v.is_finite() or _reproduces(printed, value):
        return None
    for what, places, fits in _TYPOS:
        for k in places(d):
            for how, mode in (("rounded", ROUND_HALF_UP), ("truncated", ROUND_DOWN)):
                s = f"{_at(v, k, mode):f}"
                if fits(printed, s):
                    if what == "the decimal point is missing" and s.lstrip("-").startswith("0."):
                        what = "'0.' is missing"
                    return f"{what}: computed {s} ({how} to {k} decimals)"
    return None


# -- the document's own arithmetic -----------------------------------------------------------
_BINOPS: dict[type[ast.operator], tuple[str, Callable[[Fraction, Fraction], Fraction]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
}
_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.USub, ast.UAdd, ast.Pow)


def _parse_expression(text: str, field: str) -> ast.Expression:
    """Parse arithmetic over numbers only: + - * / ( ) and ``**`` with an exponent 0..9."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise SpecError(f"{field}: not arithmetic: {text!r}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, _NODES) or type(node) in _BINOPS
        if isinstance(node, ast.Constant):
            ok = type(node.value) in (int, float)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            e = node.right
            ok = isinstance(e, ast.Constant) and type(e.value) is int and 0 <= e.value <= 9
        if not ok:
            raise SpecError(
                f"{field}: {type(node).__name__} is not allowed in {text!r}; "
                "only numbers, + - * /, ** with a small integer exponent, and parentheses"
            )
    return tree


def _evaluate(node: ast.AST, text: str) -> Fraction:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, text)
    if isinstance(node, ast.Constant):  # exact decimal value of the digits as written
        return Fraction(Decimal(str(ast.get_source_segment(text, node))))
    if isinstance(node, ast.UnaryOp):
        inner = _evaluate(node.operand, text)
        return -inner if isinstance(node.op, ast.USub) else inner
    assert isinstance(node, ast.BinOp)  # _parse_expression admits nothing else
    left, right = _evaluate(node.left, text), _evaluate(node.right, text)
    if isinstance(node.op, ast.Pow):
        return left ** int(right)
    return _BINOPS[type(node.op)][1](left, right)


def evaluate_expression(text: str, field: str = "expression") -> Fraction:
    """Exact value of a document's arithmetic, e.g. ``"2 * 0.162 + 3 * 0.218"`` -> 489/500.

    Parsed with :mod:`ast` and a node whitelist (never ``eval``); names, calls, attributes and
    anything but numbers, + - * / ** and parentheses raise :class:`SpecError`."""
    return _evaluate(_parse_expression(text, field), text.strip())


def _operator_swaps(text: str) -> Iterator[tuple[str, str, str, Fraction]]:
    """(printed op, other op, expression with it, exact value): every op of one kind swapped
    at once, then each single op."""
    text = text.strip()
    tree = _parse_expression(text, "expression")
    sites = [n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and type(n.op) in _BINOPS]
    kinds = list(dict.fromkeys(type(n.op) for n in sites))
    groups = [[i for i, n in enumerate(sites) if type(n.op) is k] for k in kinds]
    groups += [[i] for i in range(len(sites))] if len(sites) > 1 else []
    for group in groups:
        for new in _BINOPS:
            old = type(sites[group[0]].op)
            if new is old:
                continue
            variant = copy.deepcopy(tree)
            variant_sites = [
                n for n in ast.walk(variant) if isinstance(n, ast.BinOp) and type(n.op) in _BINOPS
            ]
            for i in group:
                variant_sites[i].op = new()
            try:
                value = _evaluate(variant, text)
            except ZeroDivisionError:
                continue
            yield _BINOPS[old][0], _BINOPS[new][0], ast.unparse(variant), value


# -- judging every documented value of a spec ------------------------------------------------
def check_spec(spec: Spec) -> list[GoldenRecord]:
    """Every documented value of ``spec`` recomputed by true gradient descent, judged, and for
    each discrepancy the first detector's finding (see the module docstring).

    Always computed in float64: a document's ninth digit is a claim about its arithmetic, not
    about the dtype the spec trains in."""
    entries = _entries(spec)
    if spec.model.dtype != "float64":
        spec = parse_spec({**spec.model.model_dump(), "dtype": "float64"}, spec.path)
    baseline = _Run(spec, hand_grads)
    runs = _alternative_runs(spec)
    records: list[GoldenRecord] = []
    for doc, q in entries:
        computed = _value(q, baseline)
        verdict, d = _judge_quantity(q, doc.printed, computed), _places(doc.printed)
        head = (spec.name, q.text, doc.where, doc.printed, computed, verdict)
        if verdict != "discrepancy":
            note = _match_note(spec, doc, q, verdict, baseline)
            records.append(GoldenRecord(*head, "", d, note=note))
            continue
        alternatives = tuple(
            (name, v)
            for name, run in runs.items()
            if (v := _try_value(q, run)) not in (None, computed)
        )
        finding, cause, rule, alternative = _explain(
            spec, doc.printed, doc.expression, q, computed, alternatives, baseline, records
        )
        records.append(GoldenRecord(*head, cause, d, finding, rule, alternative, alternatives))
    return records


def summarize(records: Sequence[GoldenRecord]) -> dict[str, dict[str, int]]:
    """Counts per verdict per network, every verdict present."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        counts = out.setdefault(
            r.network, dict.fromkeys(("match", "match-truncated", "discrepancy"), 0)
        )
        counts[r.verdict] += 1
    return out


def _entries(spec: Spec) -> list[tuple[Documented, Quantity]]:
    problems: list[str] = []
    entries: list[tuple[Documented, Quantity]] = []
    for i, doc in enumerate(spec.documented):
        try:
            entries.append((doc, _resolve(spec, doc.quantity, f"documented[{i}].quantity")))
            if doc.expression is not None:
                _parse_expression(doc.expression, f"documented[{i}].expression")
        except SpecError as exc:  # collect every bad entry, then report them in one line
            problems.append(str(exc))
    if problems:
        raise SpecError(f"{spec.path}: " + "; ".join(problems))
    return entries


def _try_value(q: Quantity, run: _Run) -> float | None:
    try:
        return _value(q, run)
    except _NotApplicable:
        return None


def _match_note(spec: Spec, doc: Documented, q: Quantity, verdict: Verdict, run: _Run) -> str:
    """What a match leaves unsaid: the document's own arithmetic does not give its print, or a
    truncated match is exactly another quantity's value (a likely copy)."""
    notes = []
    if doc.expression is not None:
        value = evaluate_expression(doc.expression)
        if not _reproduces(doc.printed, value):
            notes.append(
                f"the printed arithmetic {doc.expression.strip()} gives "
                f"{_show(value, _places(doc.printed))}; the print follows from unrounded values"
            )
    if verdict == "match-truncated":
        for sibling in _siblings(spec, q):
            if _decimal(_value(sibling, run)) == Decimal(doc.printed):
                notes.append(f"the print is exactly the value of {sibling.text}")
    return "; ".join(notes)


Finding = tuple[str, str, str, float | None]  # (finding, cause, rule, alternative value)


def _explain(
    spec: Spec,
    printed: str,
    expression: str | None,
    q: Quantity,
    computed: float,
    alternatives: tuple[tuple[str, float], ...],
    baseline: _Run,
    earlier: Sequence[GoldenRecord],
) -> Finding:
    """The first detector that explains a discrepancy, in the order of the module docstring."""
    d = _places(printed)
    if expression is not None:
        expr, exact = expression.strip(), evaluate_expression(expression)
        operands = _operand_notes(spec, expr, earlier)
        if how := _reproduces(printed, exact):
            cause = f"follows from the printed intermediate values: {expr} = {_show(exact, d)}"
            return "intermediates", f"{cause} ({how}){operands}", "", float(exact)
        for old, new, swapped, swapped_exact in _operator_swaps(expr):
            if how := _reproduces(printed, swapped_exact):
                cause = (
                    f"the arithmetic shows '{old}' where '{new}' reproduces the printed value: "
                    f"{swapped} = {_show(swapped_exact, d)} ({how})"
                )
                return "operator", cause + operands, "", float(swapped_exact)
    hits = [(name, v, how) for name, v in alternatives if (how := _reproduces(printed, v))]
    if hits:
        name, v, how = hits[0]
        names = ", ".join(h[0] for h in hits)
        rule = name.split(" with ")[0]
        cause = (
            f"follows from update rule {names} ({RULES[rule][1]}): {_show(v, d)} ({how}); "
            f"true gradient descent gives {_show(computed, d)}"
        )
        return "rule", cause, names, v
    for r in earlier:
        if r.quantity == q.text and r.documented == printed and r.finding:
            cause = f"repeats {r.where or 'an earlier print'}: {r.cause.split('; ')[0]}"
            return "repeat", cause, r.rule, r.alternative
    for sibling in _siblings(spec, q):
        v = _value(sibling, baseline)
        if how := _reproduces_quantity(q, printed, v):
            cause = f"copied from {sibling.text} = {_show(v, d)} ({how})"
            return "copied", f"{cause}; {q.text} is {_show(computed, d)}", "", v
    if slip := typo(printed, computed):
        return "typo", f"typo: {slip}", "", None
    if expression is not None:
        exact = evaluate_expression(expression)
        cause = f"arithmetic slip: {expression.strip()} = {_show(exact, d)}, printed {printed}"
        return "slip", cause, "", float(exact)
    return "unexplained", f"unexplained: computed {_show(computed, d)}", "", None


def _siblings(spec: Spec, q: Quantity) -> Iterator[Quantity]:
    """Quantities of the same kind, step and sample as ``q`` but another unit or parameter."""
    if q.kind in _PARAM_KINDS:
        args = list(spec.param_names)
    elif q.kind in _EDGE_KINDS:
        sep = _EDGE_KINDS[q.kind]
        args = [f"{a}{sep}{b}" for a in spec.unit_names for b in spec.unit_names]
    else:
        args = list(spec.unit_names) if q.kind != "loss" else []
    suffix = (f"@{q.step}" if q.step else "") + (
        f"#{q.sample}" if len(spec.model.samples) > 1 else ""
    )
    for arg in args:
        try:
            sibling = _resolve(spec, f"{q.kind}:{arg}{suffix}", "sibling")
        except SpecError:  # not a valid argument for this kind (e.g. an input for delta)
            continue
        if (sibling.units, sibling.param) != (q.units, q.param):
            yield sibling


def _operand_notes(spec: Spec, expression: str, earlier: Sequence[GoldenRecord]) -> str:
    """Name the operands that are earlier prints judged off the true value (given constants of
    the network, such as inputs and initial weights, are not intermediates)."""
    given = {Decimal(repr(float(v))) for v in _given_constants(spec)}
    notes: list[str] = []
    tree = _parse_expression(expression, "expression")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant):
            continue
        digits = str(ast.get_source_segment(expression, node))
        if Decimal(digits) in given:
            continue
        for r in earlier:
            if r.verdict != "match" and r.documented.lstrip("-") == digits:
                label = "truncated" if r.verdict == "match-truncated" else r.finding
                note = f"{digits} = {r.quantity} ({label})"
                if note not in notes:
                    notes.append(note)
                break
    return f"; operands off the true values: {', '.join(notes)}" if notes else ""


def _given_constants(spec: Spec) -> Iterator[float]:
    for group in (*spec.initial_params(), *spec.frozen_params()):
        for array in group.values():
            yield from (float(v) for v in np.ravel(array))
    yield from (float(v) for v in np.ravel(spec.inputs()))
    yield from (float(v) for v in np.ravel(spec.targets()))
    yield spec.learning_rate
