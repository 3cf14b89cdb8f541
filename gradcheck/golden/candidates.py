"""What a printed number could be: every quantity a spec can compute, valued once, and the
words that name each one.

:func:`candidates` lists every unit's ``net``/``out``/``dloss_dout``/``dout_dnet``/``delta``,
each output's ``loss:``/``error:``, the edges' ``dnet_dout``/``dloss_dout_via``, each weight's
``dnet_dparam``, each trainable parameter's ``grad``/``updated``, the loss, per sample ``#S``
where the batch has several, at step 0 and at later steps ``@N`` (true gradient descent, then
every alternative update rule of :func:`~gradcheck.golden.hypotheses.rule_runs`), in float64
via :func:`~gradcheck.golden.quantities.quantity_value`. The spec's given constants (weights
and biases before any step, inputs, targets, the learning rate) are candidates marked
``given``: a document that prints one states it, it derives nothing.

Candidates about the same thing with exactly the same value are *aliases* (``dnet_dparam:w5``
is ``out:h1``; ``error:o1`` is ``dloss_dout:o1`` under half squared error): one number, not an
ambiguity. :func:`hint` scores how plainly a label names a candidate (3 a derivative or
subscripted name such as ``∂E_total/∂w_5`` or ``net_h1``, 2 a bare unit or weight name, 1 a
word such as "prediction"); :func:`reach` also says where the name ends, so that of two names
as plain the one nearest the number wins over a word earlier in its sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gradcheck.golden.hypotheses import rule_runs
from gradcheck.golden.quantities import Trajectory, quantity_value, resolve_quantity
from gradcheck.golden.update_rules import NotApplicable
from gradcheck.hand import hand_grads
from gradcheck.spec import Spec, SpecError

__all__ = ["KIND_ORDER", "Candidate", "candidates", "hint", "lone_units", "normalise", "reach"]


@dataclass(frozen=True)
class Candidate:
    """One quantity's value: ``text`` is its quantity (or ``learning rate`` / ``target:o1`` for
    a given that is no quantity), ``subject`` what it is about, ``rule`` the update rule ("" true
    gradient descent)."""

    text: str
    kind: str
    subject: str
    step: int
    sample: int
    value: float
    rule: str = ""
    given: bool = False
    unit: str = ""
    other: str = ""


KIND_ORDER = (
    "given",
    "out",
    "net",
    "loss",
    "dloss_dout",
    "delta",
    "error",
    "dout_dnet",
    "dloss_dout_via",
    "grad",
    "updated",
    "param",
    "dnet_dparam",
    "dnet_dout",
)
"""Which alias a number is proposed as when nothing in its label says otherwise."""


def _texts(spec: Spec) -> list[tuple[str, str, str, str]]:
    """(quantity without step/sample, kind, unit, other) for every derived quantity."""
    out: list[tuple[str, str, str, str]] = [("loss", "loss", "", "")]
    layers = spec.sizes
    names = {at: n for n, at in spec.unit_names.items()}
    last = len(layers) - 1
    for (layer, _), u in sorted(names.items()):
        if layer == 0:
            continue
        out += [(f"{k}:{u}", k, u, "") for k in ("out", "net", "dloss_dout", "dout_dnet", "delta")]
        if layer == last:
            out += [(f"loss:{u}", "loss", u, ""), (f"error:{u}", "error", u, "")]
        for (lb, _), b in sorted(names.items()):
            if lb == layer + 1:
                out.append((f"dnet_dout:{u}->{b}", "dnet_dout", u, b))
                out.append((f"dloss_dout_via:{u}<-{b}", "dloss_dout_via", u, b))
    for p, (layer, group, _) in spec.param_names.items():
        if group == "W":
            out.append((f"dnet_dparam:{p}", "dnet_dparam", "", p))
        if spec.is_trainable(layer, group):
            out += [(f"grad:{p}", "grad", "", p), (f"updated:{p}", "updated", "", p)]
    return out


_PER_SAMPLE_ONLY = ("out", "net", "dloss_dout", "dout_dnet", "delta", "error", "dloss_dout_via")


def _subject(spec: Spec, kind: str, unit: str, other: str) -> str:
    if kind == "dnet_dparam":
        layer, _, (_, k) = spec.param_names[other]
        return next(n for n, at in spec.unit_names.items() if at == (layer, k))
    if kind == "dnet_dout":
        la, ja = spec.unit_names[unit]
        _, jb = spec.unit_names[other]
        return next(
            p
            for p, (lay, g, idx) in spec.param_names.items()
            if (lay, g, idx) == (la, "W", (jb, ja))
        )
    if kind == "loss":
        return "loss"
    if kind == "grad" and spec.param_names[other][1] == "b":
        layer, _, index = spec.param_names[other]
        if index:  # a bias per neuron: its gradient is its neuron's delta, summed
            return next(n for n, at in spec.unit_names.items() if at == (layer + 1, index[0]))
    return unit or other


def _unnamed(spec: Spec) -> list[str]:
    """The parts of ``spec`` with an entry or a unit that has no display name: ``input``,
    ``layers[i]`` (its units), ``layers[i].W``, ``layers[i].b``."""
    units = [layer for layer, _ in spec.unit_names.values()]
    params = [(layer, group) for layer, group, _ in spec.param_names.values()]
    missing = [
        "input" if i == 0 else f"layers[{i - 1}]"
        for i, n in enumerate(spec.sizes)
        if units.count(i) < n
    ]
    for i, (own, frozen) in enumerate(
        zip(spec.initial_params(), spec.frozen_params(), strict=True)
    ):
        for group, a in sorted({**own, **frozen}.items()):
            if params.count((i, group)) < max(a.size, 1):
                missing.append(f"layers[{i}].{group}")
    return missing


def _suffixes(spec: Spec, kind: str, step: int) -> list[tuple[str, int]]:
    n = len(spec.model.samples)
    at = f"@{step}" if step else ""
    if n == 1 or kind in ("dnet_dout",):
        return [(at, 0)]
    per = [(f"{at}#{s}", s) for s in range(n)]
    return per if kind in _PER_SAMPLE_ONLY or kind == "dnet_dparam" else [(at, 0), *per]


def _givens(spec: Spec, baseline: Trajectory) -> list[Candidate]:
    out = []
    for p in spec.param_names:
        value = _value(spec, f"param:{p}", baseline)
        if value is not None:
            out.append(Candidate(f"param:{p}", "param", p, 0, 0, value, given=True, other=p))
    several = len(spec.model.samples) > 1
    names = {at: n for n, at in spec.unit_names.items()}
    last = len(spec.sizes) - 1
    for s, sample in enumerate(spec.model.samples):
        suffix = f"#{s}" if several else ""
        for j, x in enumerate(sample.input):
            u = names[(0, j)]
            out.append(Candidate(f"out:{u}{suffix}", "out", u, 0, s, float(x), given=True, unit=u))
        for j, t in enumerate(sample.target):
            u = names[(last, j)]
            text = f"target:{u}{suffix}"
            out.append(Candidate(text, "target", f"target:{u}", 0, s, float(t), given=True, unit=u))
    if spec.model.optimizer.learning_rate is not None:
        lr = float(spec.model.optimizer.learning_rate)
        out.append(
            Candidate("learning rate", "learning_rate", "learning rate", 0, 0, lr, given=True)
        )
    return out


def candidates(spec: Spec, steps: tuple[int, ...] = (0, 1, 2, 3)) -> list[Candidate]:
    """Every candidate of ``spec`` at ``steps`` (module docstring); true gradient descent first.
    A document names what it prints, so every unit and parameter of ``spec`` must have a name:
    one :class:`SpecError` says which have none."""
    missing = _unnamed(spec)
    if missing:
        raise SpecError(
            f"{spec.path}: a document is read by names, and the spec leaves these unnamed: "
            f"{', '.join(missing)} (add names = [...] to the input and each layer, "
            "weight_names = [[...]] and the bias's names = [...])"
        )
    baseline = Trajectory(spec, hand_grads)
    runs: dict[str, Trajectory] = {"": baseline}
    if spec.model.optimizer.learning_rate is not None:
        runs.update(rule_runs(spec))
    else:
        steps = (0,)
    out = _givens(spec, baseline)
    seen: set[tuple[str, float]] = set()
    for rule, run in runs.items():
        for step in steps:
            for base, kind, unit, other in _texts(spec):
                if step == 0 and rule and kind not in ("updated",):
                    continue  # before any step every rule computes the same
                for suffix, sample in _suffixes(spec, kind, step):
                    text = base + suffix
                    value = _value(spec, text, run)
                    if value is None or (text, value) in seen:
                        continue
                    seen.add((text, value))
                    subject = _subject(spec, kind, unit, other)
                    out.append(
                        Candidate(
                            text, kind, subject, step, sample, value, rule, False, unit, other
                        )
                    )
    return out


def _value(spec: Spec, text: str, run: Trajectory) -> float | None:
    try:
        return quantity_value(resolve_quantity(spec, text, "candidate"), run)
    except (NotApplicable, SpecError, FloatingPointError, OverflowError):
        return None


# -- labels ----------------------------------------------------------------------------------
def normalise(label: str) -> str:
    """A label as :func:`hint` reads it: lower case, no spaces, underscores, braces or quotes."""
    words = re.sub(r"(?<=\w)\s+(?=\w)", "|", label.lower().replace(",", "|"))
    words = re.sub(r"\bhat\b|\\?hat(?=[({])|[\s_(){}\[\]\"'`*]", "", words)
    return re.sub(r"\^(?=\d)", "", words)


def _n(name: str) -> str:
    return re.escape(normalise(name))


_LOSS = r"(?:e|l|j|c|loss|cost|error)"


def _patterns(c: Candidate, outputs: int, alone: frozenset[str]) -> list[tuple[int, str]]:
    """(tier, regex) naming ``c``; a unit alone in its layer may go without its name after a
    symbol (``dL/dz``, ``z``), never bare."""
    u, o = _n(c.unit), _n(c.other)
    uo = f"(?:{u})?" if c.unit in alone else u
    oo = f"(?:{o})?" if c.other in alone else o
    end, free = r"(?![a-z0-9])", r"(?<![∂/a-z0-9])"
    if c.kind == "learning_rate":
        return [(3, r"learning\|?rate|η|eta|α|alpha|(?<![a-z])lr(?![a-z])")]
    if c.kind == "target":
        return [(3, rf"target{u}(?!\d)|(?<![a-z])t{u}(?!\d)"), (1, r"target|actual|true|desired")]
    if c.kind == "param":
        return [(3, rf"old\|?{o}(?!\d)"), (2, rf"{free}{o}(?![0-9+'^])")]
    if c.kind == "out":
        found = [(3, rf"(?<![∂a-z])out(?:put)?{uo}{end}"), (2, rf"{free}{u}(?!\d)")]
        if c.given:
            found.append((1, r"input"))
        elif outputs == 1:
            found.append((1, r"predict|output"))
        return found
    if c.kind == "net":
        return [(3, rf"(?<![∂a-z])(?:net|z){uo}{end}"), (1, rf"{free}{u}(?!\d)")]
    if c.kind == "loss":
        if c.unit:
            return [(3, rf"(?<![∂a-z])(?:e|loss|error){u}(?!\d)")]
        return [(3, r"(?<![∂a-z])(?:etotal|error|loss|cost)|^(?:e|l|j|c)$")]
    if c.kind == "error":
        return [(2, rf"(?<![∂a-z])error{u}(?!\d)")]
    if c.kind == "dloss_dout":
        return [(3, rf"[∂d]{_LOSS}(?:total|{u})?/[∂d](?:out|output|y|a)?{uo}{end}")]
    if c.kind == "dloss_dout_via":
        return [(3, rf"[∂d]{_LOSS}{oo}/[∂d](?:out|a)?{uo}{end}")]
    if c.kind == "dout_dnet":
        return [(3, rf"[∂d](?:out|a|y)?{uo}/[∂d](?:net|z){uo}{end}")]
    if c.kind == "delta":
        derivative = rf"[∂d]{_LOSS}[a-z0-9]*/[∂d](?:net|z){uo}{end}"
        return [(3, rf"{derivative}|(?<![a-z])(?:δ|delta){u}(?!\d)")]
    if c.kind == "dnet_dout":
        return [(3, rf"[∂d](?:net|z){oo}/[∂d](?:out|a)?{uo}{end}")]
    if c.kind == "dnet_dparam":
        return [(3, rf"[∂d](?:net|z)[a-z0-9]*/[∂d]{o}(?!\d)")]
    if c.kind == "grad":
        found = [(3, rf"[∂d]{_LOSS}[a-z0-9]*/[∂d]{o}(?!\d)|grad[a-z]*{o}(?!\d)")]
        if "_" in c.other:  # a matrix's element (W2_01): d<matrix> names its gradients
            found.append((3, rf"(?<![a-z])d{_n(c.other.split('_')[0])}(?![a-z0-9])"))
        return found
    if c.kind == "updated":
        return [
            (3, rf"{free}{o}(?:\^?\+|'|new|\^new|\^\(1\))|new\|?{o}(?!\d)|updated\|?{o}(?!\d)"),
            (1, rf"{free}{o}(?!\d)"),
        ]
    return []


def hint(c: Candidate, label: str, outputs: int, alone: frozenset[str] = frozenset()) -> int:
    """How plainly ``label`` (already :func:`normalise` d) names ``c``: 0 to 3. ``alone``:
    the units alone in their layer, which a document may leave unnamed (``dL/dz``)."""
    return reach(c, label, outputs, alone)[0]


def reach(
    c: Candidate, label: str, outputs: int, alone: frozenset[str] = frozenset()
) -> tuple[int, int]:
    """``(tier, end)``: how plainly ``label`` names ``c`` (:func:`hint`) and where in the label
    that name ends (-1 for none). Of two names as plain, the one nearer the number (the end
    of the label) wins: in ``The errors are E_o1``, ``E_o1`` beats ``errors``."""
    best = (0, -1)
    for tier, pattern in _patterns(c, outputs, alone) if label else ():
        for m in re.finditer(pattern, label):
            best = max(best, (tier, m.end()))
    return best


def lone_units(spec: Spec) -> frozenset[str]:
    """Hidden or output units alone in their layer."""
    return frozenset(
        n for n, (layer, _) in spec.unit_names.items() if layer and spec.sizes[layer] == 1
    )
