"""A network read from a document that states it plainly, for ``golden --scan`` without a spec.

What counts as plain: named values (``w1 = 0.15``, ``w_5 : 0.4``, ``i1 = 0.05``, ``b1 = 0.35``,
code such as ``w1, w2 = (0.15, 0.20)``), lists (``inputs = [2, 3]``, ``output = [1]``), a
learning rate in words or as ``η``/``learning_rate``, and symbolic arithmetic followed by the
same arithmetic on numbers (``net_h1 = w_1 * i_1 + b_1 * 1`` then ``0.15 * 0.05 + 0.35 * 1``),
which names each number. Targets are ``o1 = ...`` stated beside an input, ``t1 = ...``
(``t_1``), ``target``/``actual output`` values or an output list. The layout is two layers,
fully connected, weights numbered row by row (``h1 = i1 w1 + i2 w2``), the hidden size what
the weight count leaves; sigmoid units where the document shows the logistic function, else
linear; half squared error; one shared bias per layer, as stated, never trained.
:func:`infer_network` returns spec data or raises one line asking for ``--spec``.
"""

from __future__ import annotations

import re
from typing import Any

from gradcheck.errors import GradcheckError
from gradcheck.golden.documents import DocLine
from gradcheck.golden.scan import plain_math

__all__ = ["infer_network"]

_NUM = r"-?\d*\.?\d+"
_NAMED = re.compile(rf"(?<![A-Za-z∂])([wbiot])_?\(?(\d+)\)?\s*[:=]\s*({_NUM})(?![\d.]*[*/+^])")
_TUPLE = re.compile(rf"((?:[wi]_?\d+\s*,\s*)+[wi]_?\d+)\s*=\s*\(?\s*((?:{_NUM}\s*,\s*)+{_NUM})")
_LIST = re.compile(rf"\b(inputs?|outputs?|targets?)\s*=\s*\[\s*((?:{_NUM}\s*,?\s*)+)\]", re.I)
_RATE = re.compile(
    r"(?:learning[ _]?rate[^=\d]{0,25}?(?:=|\bas\b|\bof\b|\bis\b)?\s*|(?:η|\beta\b)\s*=\s*)"
    rf"({_NUM})",
    re.I,
)
_TARGET = re.compile(
    rf"(?:target|actual output|true output|desired output)\s*[:=]\s*({_NUM})", re.I
)


def _skeleton(segment: str) -> tuple[list[str], list[str]] | None:
    """Atoms and operators of a sum of products, cut at depth 0 (a group is one atom)."""
    atoms, ops, depth, current = [], [], 0, ""
    for ch in segment.strip():
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and ch in "+-*/^" and current.strip():
            atoms.append(current.strip())
            ops.append(ch)
            current = ""
        else:
            current += ch
    if depth or not current.strip():
        return None
    return [*atoms, current.strip()], ops


def _aligned(lines: list[str]) -> dict[str, float]:
    """Names read from symbolic arithmetic followed by the same arithmetic on numbers."""
    found: dict[str, float] = {}
    segments: list[tuple[str, str]] = []
    for text in lines:
        parts = re.split(r"=", text)
        lhs = re.sub(r"[\s_{}]", "", parts[0]) if len(parts) > 1 else ""
        segments += [(lhs, p) for p in parts[1:]]
    for i, (lhs, seg) in enumerate(segments):
        numeric = _skeleton(seg)
        if numeric is None or not all(re.fullmatch(_NUM, a) for a in numeric[0]):
            continue
        for back_lhs, back in reversed(segments[max(0, i - 3) : i]):
            symbolic = _skeleton(back)
            if back_lhs == lhs and symbolic is not None and symbolic[1] == numeric[1]:
                for name, value in zip(symbolic[0], numeric[0], strict=True):
                    key = re.sub(r"[\s_{}]", "", name).lower()
                    if re.fullmatch(r"[wbi]\d+|η|eta", key):
                        found.setdefault(key, float(value))
                break
    return found


def _stated(lines: list[str]) -> tuple[dict[str, float], dict[str, list[float]]]:
    named: dict[str, float] = {}
    lists: dict[str, list[float]] = {}
    for text in lines:
        for m in _TUPLE.finditer(text):
            names = [re.sub(r"[\s_]", "", n) for n in m.group(1).split(",")]
            values = [float(v) for v in m.group(2).split(",")]
            for name, value in zip(names, values, strict=False):
                named.setdefault(name.lower(), value)
        for m in _NAMED.finditer(text):
            key = f"{m.group(1).lower()}{m.group(2)}"
            if key.startswith("o") and not re.search(r"\bi_?\d", text):
                continue  # an output's value, not a target stated beside its input
            named.setdefault(key, float(m.group(3)))
        for m in _LIST.finditer(text):
            kind = "input" if m.group(1).lower().startswith("input") else "target"
            lists.setdefault(kind, [float(v) for v in re.findall(_NUM, m.group(2))])
        if (rate := _RATE.search(text)) is not None:
            named.setdefault("rate", float(rate.group(1)))
        if (target := _TARGET.search(text)) is not None:
            lists.setdefault("stated target", [float(target.group(1))])
    return named, lists


def _series(named: dict[str, float], prefix: str) -> list[float]:
    out, k = [], 1
    while f"{prefix}{k}" in named:
        out.append(named[f"{prefix}{k}"])
        k += 1
    return out


def infer_network(lines: list[DocLine], name: str) -> dict[str, Any]:
    """Spec data for the network ``lines`` state plainly (module docstring)."""
    texts = [plain_math(line.text) for line in lines]
    named, lists = _stated(texts)
    stated_inputs = any(re.fullmatch(r"i\d+", k) for k in named)
    for key, value in _aligned(texts).items():
        if not (stated_inputs and key.startswith("i")):  # stated plainly beats read off
            named.setdefault("rate" if key in ("η", "eta") else key, value)
    weights = _series(named, "w")
    inputs = _series(named, "i") or lists.get("input", [])
    targets = _series(named, "o") or _series(named, "t")
    targets = targets or lists.get("target") or lists.get("stated target", [])
    n_in, n_out = len(inputs), len(targets)
    hidden = len(weights) // (n_in + n_out) if n_in and n_out else 0
    if not hidden or hidden * (n_in + n_out) != len(weights):
        got = f"{len(weights)} weights, {n_in} inputs, {n_out} targets"
        raise GradcheckError(
            f"{name}: cannot read a two-layer network from the document ({got}); pass --spec"
        )
    joined = " ".join(texts).lower()
    sigmoid = "sigmoid" in joined or re.search(r"1\)?\s*/\s*\(+\s*1\s*\+\s*e\s*\^", joined)
    activation = "sigmoid" if sigmoid else "identity"
    biases = _series(named, "b")

    def layer(size: int, fan_in: int, first: int, names: list[str], k: int) -> dict[str, Any]:
        w = [weights[first + r * fan_in : first + (r + 1) * fan_in] for r in range(size)]
        wn = [[f"w{first + r * fan_in + c + 1}" for c in range(fan_in)] for r in range(size)]
        data: dict[str, Any] = {
            "size": size,
            "activation": activation,
            "names": names,
            "weights": w,
            "weight_names": wn,
        }
        if k < len(biases):
            data["bias"] = {
                "mode": "shared",
                "value": biases[k],
                "trainable": False,
                "name": f"b{k + 1}",
            }
        return data

    data: dict[str, Any] = {
        "name": re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "scanned",
        "description": f"Read from {name} by gradcheck golden --scan; review before use.",
        "loss": "half_sse",
        "input": {"size": n_in, "names": [f"i{k + 1}" for k in range(n_in)]},
        "layers": [
            layer(hidden, n_in, 0, [f"h{k + 1}" for k in range(hidden)], 0),
            layer(n_out, hidden, hidden * n_in, [f"o{k + 1}" for k in range(n_out)], 1),
        ],
        "samples": [{"input": inputs, "target": targets}],
    }
    if "rate" in named:
        data["optimizer"] = {"name": "sgd", "learning_rate": named["rate"]}
    return data
