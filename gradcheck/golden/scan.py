"""The numbers a document prints, each with its line, its role and the words around it.

LaTeX is reduced by a small regex pass, not a TeX parser: ``\\frac{a}{b}`` becomes ``((a)/(b))``,
``\\cdot`` and ``\\times`` ``*``, ``\\partial`` ``∂``, arrows (``\\Rightarrow``, ``\\xrightarrow``)
separate clauses, ``\\text{..}`` and the like keep their text, other braces become parentheses,
and environments, ``&`` and ``\\\\`` go. A line that starts with ``=`` continues the line before.

A clause (text between arrows, tabs, semicolons, ``, NAME =``, a sentence's end before an
equation, or a number and a new ``NAME =`` after it: ``out_h1 = 0.59. Likewise out_h2 = ..``)
is cut at ``=`` (and ``≈``, and ``NAME :``) into segments. A number that is a segment on its
own after an ``=`` is a ``result``: its label is the clause's left-hand side, ``named`` the
segment just before it, ``expression`` that segment when it is the document's arithmetic. A
number inside arithmetic is an ``operand``; any other is a ``mention``, labelled by the words
before it. Integers count only as results.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from gradcheck.golden.documents import DocLine
from gradcheck.golden.expressions import literals, parse
from gradcheck.spec import SpecError

__all__ = ["Number", "numbers", "plain_math", "to_expression"]


@dataclass(frozen=True)
class Number:
    """One printed number: ``printed`` as the document writes it (a sign it carries included),
    ``lhs``/``named`` the label text (see the module docstring), ``context`` a short note,
    ``clause`` which clause of the document it is in (0, 1, ...; shared by a result and the
    operands of its arithmetic)."""

    line: int
    where: str
    printed: str
    role: str  # "result" | "operand" | "mention"
    lhs: str
    named: str
    expression: str | None
    context: str
    clause: int = 0


_SIMPLE = {
    r"\partial": "∂",
    r"\cdot": "*",
    r"\times": "*",
    r"\ast": "*",
    r"\div": "/",
    r"\Longrightarrow": "⇒",
    r"\longrightarrow": "⇒",
    r"\Rightarrow": "⇒",
    r"\rightarrow": "⇒",
    r"\implies": "⇒",
    r"\to": "⇒",
    r"\neq": "≠",
    r"\ne": "≠",
    r"\approx": "≈",
    r"\eta": "η",
    r"\alpha": "α",
    r"\delta": "δ",
    r"\Delta": "Δ",
    r"\sigma": "σ",
    r"\sum": "Σ",
    r"\left": " ",
    r"\right": " ",
    r"\quad": " ",
    r"\qquad": " ",
    r"\cdots": " ",
    r"\ldots": " ",
}
_SIMPLE_RE = re.compile(
    "|".join(re.escape(k) + r"(?![A-Za-z])" for k in sorted(_SIMPLE, key=len, reverse=True))
)
_KEEP_TEXT = ("text", "mathrm", "mathbf", "textbf", "mathit", "operatorname", "boldsymbol")


def _groups(text: str, at: int, n: int) -> tuple[list[str], int] | None:
    """``n`` brace groups (or single characters) starting at ``at``; their texts and the end."""
    out = []
    for _ in range(n):
        while at < len(text) and text[at] == " ":
            at += 1
        if at >= len(text):
            return None
        if text[at] != "{":
            out.append(text[at])
            at += 1
            continue
        depth, start = 0, at
        while at < len(text):
            depth += {"{": 1, "}": -1}.get(text[at], 0)
            at += 1
            if depth == 0:
                break
        if depth:
            return None
        out.append(text[start + 1 : at - 1])
    return out, at


def _macro(text: str, name: str, n: int, build: Callable[[list[str]], str]) -> str:
    pattern = re.compile(re.escape("\\" + name) + r"(?![A-Za-z])(?:\[[^\]]*\])?")
    for _ in range(50):  # nested uses: innermost last, one pass each
        m = pattern.search(text)
        if m is None:
            break
        got = _groups(text, m.end(), n)
        if got is None:
            text = text[: m.start()] + text[m.end() :]
            continue
        parts, end = got
        text = text[: m.start()] + build(parts) + text[end:]
    return text


def plain_math(text: str) -> str:
    """A line with its LaTeX reduced to plain arithmetic and names (module docstring)."""
    text = text.replace("\\\\", " ").replace("−", "-").replace("–", "-").replace("$", " ")
    text = re.sub(r"\\[\[\]()]", " ", text)
    text = re.sub(r"\\(?:begin|end)\{[^}]*\}", " ", text).replace("&", " ")
    text = _macro(text, "xrightarrow", 1, lambda p: " ⇒ ")
    for name in _KEEP_TEXT:
        text = _macro(text, name, 1, lambda p: p[0])
    for name in ("frac", "dfrac", "tfrac"):
        text = _macro(text, name, 2, lambda p: f"(({p[0]})/({p[1]}))")
    text = _macro(text, "sqrt", 1, lambda p: f"sqrt({p[0]})")
    text = _SIMPLE_RE.sub(lambda m: _SIMPLE[m.group(0)], text)
    text = re.sub(r"\\[,;:! ]", " ", text)
    text = re.sub(r"_\{([^{}]*)\}", r"_\1", text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)
    return text.replace("{", "(").replace("}", ")")


_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?|\.\d+)(?![\w]|\.\d)")
_CLAUSE = re.compile(
    r"[⇒≠\t;]|,\s*(?=[A-Za-z∂Δδη][^=,\d]{0,30}[=:])|\band\b(?=[^=]{0,30}=)"
    r"|\.\s+(?=[A-Z][^=.]{0,60}=)"  # a sentence's end, the next one an equation
)
_WORD = r"\(*[A-Za-z∂ΔδηΣσα][\w∂^+'/()]*"
_RESTART = re.compile(  # after a number, a new label and its "=": "= 0.59. Likewise out_h2 ="
    rf"\s*[.,]?\s+(?=(?!(?:exp|ln|log|sqrt|sigmoid|tanh|e)\b){_WORD}(?:\s+{_WORD}){{0,5}}\s*=)"
)
_EQUALS = re.compile(r"=|≈|(?<=[\w)\]])\s*:\s")
_STRICT_EQUALS = re.compile(r"=|≈")
_COLON = re.compile(r"(?<=[A-Za-z)\]])\s*:\s")
_OPERATOR = re.compile(r"[-+*/^×·÷(]")
_NAMES = re.compile(r"[A-Za-z_]+")
_ARITHMETIC = re.compile(r"(?:[\s\d.+\-*/^()×·÷]|exp|ln|log|sqrt|sigmoid|tanh|e(?![a-z]))*")
_ALLOWED_NAMES = {"exp", "ln", "log", "sqrt", "sigmoid", "tanh", "e"}


def to_expression(segment: str) -> str | None:
    """The segment as the expression language's text when it is arithmetic on two or more
    numbers (juxtaposition made ``*``), else None; never evaluated here."""
    text = segment.strip().rstrip(".,;:")
    text = re.sub(r"(\d|\))\s*\(", r"\1 * (", text)
    text = re.sub(r"\)\s*(\d)", r") * \1", text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text or not _OPERATOR.search(text[1:]):
        return None
    if any(n not in _ALLOWED_NAMES for n in _NAMES.findall(text)):
        return None
    try:
        parsed = parse(text)
    except SpecError:
        return None
    return text if len(literals(parsed)) >= 2 else None


def _arithmetic(segment: str) -> str:
    """The segment's leading run of numbers, operators and parentheses."""
    m = _ARITHMETIC.match(segment)
    return m.group(0) if m is not None else ""


def _signed(text: str, start: int, digits: str) -> str:
    """The number with its minus sign when the ``-`` before it is unary."""
    before = text[:start].rstrip()
    if not before.endswith("-"):
        return digits
    if text[start - 1] == "-" and (start < 2 or text[start - 2].isspace()):
        return "-" + digits  # "0.5  -1.48": a list of numbers, the minus sign attached
    prior = before[:-1].rstrip()
    if not prior or prior[-1] in "=(*/^+-:[,⇒#≈×·":
        return "-" + digits
    return digits


def _logical(lines: list[DocLine]) -> list[list[tuple[int, DocLine, str]]]:
    """Lines joined where one starts with ``=``: (offset, line, text) pieces per logical line."""
    out: list[list[tuple[int, DocLine, str]]] = []
    for line in lines:
        text = plain_math(line.text)
        if not text.strip():
            continue
        joins = out and text.lstrip()[:1] in "=≈" and not line.code
        if joins and "=" in "".join(p[2] for p in out[-1]):
            last = out[-1]
            offset = last[-1][0] + len(last[-1][2]) + 1
            last.append((offset, line, text))
        else:
            out.append([(0, line, text)])
    return out


def _short(text: str, limit: int = 48) -> str:
    text = re.sub(r"\s+", " ", text).strip(" =:,*")
    return text if len(text) <= limit else "..." + text[-(limit - 3) :]


def _words(label: str, n: int = 5) -> str:
    """The last ``n`` words of a label, for a reader: ``new_h1_h2``, ``inputs of``."""
    words = re.findall(r"[A-Za-z∂][\w∂/+^']*", label)
    return " ".join(words[-n:]) or "value"


def _clause_numbers(clause: str, base: int) -> list[tuple[int, str, str, str, str, str | None]]:
    """(offset, printed, role, lhs, named, expression) of each number of one clause."""
    equals = _EQUALS if not re.search("[=≈]", clause) else _STRICT_EQUALS
    if equals is _STRICT_EQUALS and (colon := _COLON.search(clause)) is not None:
        heading = len(re.findall(r"[A-Za-z]+", clause[: colon.start()])) >= 3
        if heading and colon.end() < clause.find("="):  # "We go forward: net = ..."
            return _clause_numbers(clause[colon.end() :], base + colon.end())
    cuts = [0, *(m.end() for m in equals.finditer(clause))]
    seps = [m.start() for m in equals.finditer(clause)] + [len(clause)]
    segments = [clause[a:b] for a, b in zip(cuts, seps, strict=True)]
    lhs = segments[0].strip() if len(segments) > 1 else ""
    found = []
    previous_end, last_label = 0, ""
    for m in _NUMBER.finditer(clause):
        k = max(i for i, a in enumerate(cuts) if a <= m.start())
        segment = segments[k]
        printed = _signed(clause, m.start(), m.group(1))
        bare = segment.strip().rstrip(".,").replace(" ", "")
        named = segments[k - 1].strip() if k else ""
        if k and bare == printed:
            expression = to_expression(named) if k >= 2 else None
            named = "" if expression else named
            found.append((base + m.start(), printed, "result", lhs, named, expression))
        elif "." in printed and k and to_expression(_arithmetic(segment)) is not None:
            found.append((base + m.start(), printed, "operand", lhs, "", None))
        elif "." in printed:
            label = clause[previous_end : m.start()].strip()
            label = label if re.search(r"[A-Za-z∂]", label) else last_label
            last_label = label
            found.append((base + m.start(), printed, "mention", label, "", None))
        previous_end = m.end()
    return found


def clauses(text: str) -> list[str]:
    """``text`` cut into clauses: at arrows, tabs, semicolons, ``, NAME =``, ``and NAME =``, a
    sentence's end before an equation, and a number followed by a new ``NAME =``."""
    cuts = [m.span() for m in _CLAUSE.finditer(text)]
    for m in _NUMBER.finditer(text):
        if (restart := _RESTART.match(text, m.end())) is not None:
            cuts.append(restart.span())
    out, at = [], 0
    for start, end in sorted(cuts):
        if start >= at:
            out.append(text[at:start])
            at = end
    return [*out, text[at:]]


def numbers(lines: list[DocLine]) -> list[Number]:
    """Every number of the document that counts (module docstring), in document order."""
    out: list[Number] = []
    heading, clause = "", -1
    for pieces in _logical(lines):
        text = " ".join(p[2] for p in pieces)
        at = 0
        bare = not re.search(r"[A-Za-z∂]", text)  # numbers only: labelled by the line above
        for piece in clauses(text):
            clause += 1
            start = text.index(piece, at)
            at = start + len(piece)
            for offset, printed, role, lhs, named, expression in _clause_numbers(piece, start):
                line = [p[1] for p in pieces if p[0] <= offset][-1]
                lhs = heading if bare and role == "mention" and not lhs else lhs
                context = _short(lhs or named) if role != "mention" else _words(lhs)
                if role == "operand":
                    context = f"operand of {context}" if context else "operand"
                said = (printed, role, lhs, named, expression, context)
                out.append(Number(line.number, line.where, *said, clause))
        if not bare:
            heading = text.strip() if text.rstrip().endswith(":") else ""
    return out
