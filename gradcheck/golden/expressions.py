"""A document's arithmetic: parsed by a small grammar of its own, evaluated, never executed.

The language is what backprop documents write: numbers (``0.90``, ``.5``, ``1e-3``), ``+ - * /``,
powers (``^`` or ``**``, any real exponent, right-associative), parentheses, the functions
``exp ln log sqrt sigmoid tanh`` (``log`` is the natural logarithm, as in NumPy) and the constant
``e``; a web page's ``×``, ``·``, ``÷`` and Unicode minus ``−`` (U+2212) mean ``* * / -``.
Anything else is a :class:`~gradcheck.spec.SpecError` naming the character or name and where.

:func:`parse` builds a small tree (:class:`Expression`), :func:`unparse` prints it back with the
document's own numbers and symbols. Its two readings, exact and float64, are in
:mod:`gradcheck.golden.readings`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gradcheck.spec import SpecError

__all__ = [
    "FUNCTIONS",
    "BinOp",
    "Call",
    "Constant",
    "Expression",
    "Literal",
    "Negate",
    "Node",
    "children",
    "literals",
    "parse",
    "unparse",
]

FUNCTIONS = ("exp", "ln", "log", "sqrt", "sigmoid", "tanh")
_SAME_AS = {"×": "*", "·": "*", "⋅": "*", "÷": "/", "−": "-", "**": "^"}
_MAX_LENGTH, _MAX_DEPTH = 2000, 60


# -- the tree --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    """A number as written; ``position`` (0-based) tells equal numbers apart."""

    text: str
    position: int


@dataclass(frozen=True)
class Constant:
    name: str  # "e"


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    """``op`` is one of ``+ - * / ^``; ``symbol`` is how the document wrote it."""

    op: str
    left: Node
    right: Node
    symbol: str


@dataclass(frozen=True)
class Call:
    name: str
    argument: Node


Node = Literal | Constant | Negate | BinOp | Call


@dataclass(frozen=True)
class Expression:
    text: str
    root: Node


# -- parsing ---------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<op>\*\*|[-+*/^()×·⋅÷−]))"
)
_ALLOWED = "numbers, + - * / ^ (or **), × · ÷ −, parentheses, " + " ".join(FUNCTIONS) + " and e"


def _tokens(text: str, bad: Callable[[str], SpecError]) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        m = _TOKEN.match(text, at)
        if m is None:
            i = len(text) - len(text[at:].lstrip())
            ch = text[i]
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            raise bad(
                f"unexpected character {ch!r} ({name}) at position {i + 1}; allowed: {_ALLOWED}"
            )
        kind = m.lastgroup or "op"
        out.append((kind, m[kind], m.start(kind)))
        at = m.end()
    return out


class _Parser:
    """Recursive descent: sum := product (('+'|'-') product)*; product := unary (('*'|'/')
    unary)*; unary := '-' unary | power; power := atom ('^' unary)?; atom := number | e |
    name '(' sum ')' | '(' sum ')'."""

    def __init__(self, text: str, field: str) -> None:
        self.text, self.field = text, field
        self.tokens = _tokens(text, self.bad)
        self.i, self.depth = 0, 0

    def bad(self, why: str) -> SpecError:
        return SpecError(f"{self.field}: {why} (got {self.text!r})")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def op(self) -> str | None:
        t = self.peek()
        return _SAME_AS.get(t[1], t[1]) if t is not None and t[0] == "op" else None

    def take(self) -> tuple[str, str, int]:
        t = self.peek()
        if t is None:
            raise self.bad("the expression ends too early; expected a number or '('")
        self.i += 1
        return t

    def parse(self) -> Node:
        node = self.sum()
        if (t := self.peek()) is not None:
            raise self.bad(f"unexpected {t[1]!r} at position {t[2] + 1}; expected an operator")
        return node

    def sum(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.bad(f"nested deeper than {_MAX_DEPTH} levels")
        node = self.product()
        while (op := self.op()) in ("+", "-"):
            symbol = self.take()[1]
            node = BinOp(str(op), node, self.product(), symbol)
        self.depth -= 1
        return node

    def product(self) -> Node:
        node = self.unary()
        while (op := self.op()) in ("*", "/"):
            symbol = self.take()[1]
            node = BinOp(str(op), node, self.unary(), symbol)
        return node

    def unary(self) -> Node:
        if self.op() in ("-", "+"):
            sign = self.op()
            self.take()
            inner = self.unary()
            return Negate(inner) if sign == "-" else inner
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.op() == "^":
            symbol = self.take()[1]
            return BinOp("^", base, self.unary(), symbol)
        return base

    def atom(self) -> Node:
        kind, value, at = self.take()
        if kind == "num":
            return Literal(value, at)
        if kind == "name":
            following = self.peek()
            if following is not None and following[1] == "(":
                if value not in FUNCTIONS:
                    raise self.bad(f"unknown function {value!r}; known: {', '.join(FUNCTIONS)}")
                self.take()
                argument = self.sum()
                self.close(at)
                return Call(value, argument)
            if value == "e":
                return Constant("e")
            if value in FUNCTIONS:
                raise self.bad(f"{value!r} needs its argument in parentheses: {value}(...)")
            raise self.bad(f"unknown name {value!r}; only {_ALLOWED}")
        if value == "(":
            node = self.sum()
            self.close(at)
            return node
        raise self.bad(f"unexpected {value!r} at position {at + 1}; expected a number or '('")

    def close(self, opened: int) -> None:
        t = self.peek()
        if t is None or t[1] != ")":
            raise self.bad(f"the '(' at position {opened + 1} is never closed")
        self.take()


def parse(text: str, field: str = "expression") -> Expression:
    """Parse a document's arithmetic (the module docstring has the language)."""
    if len(text) > _MAX_LENGTH:
        raise SpecError(f"{field}: longer than {_MAX_LENGTH} characters (got {len(text)})")
    if not text.strip():
        raise SpecError(f"{field}: empty (got {text!r})")
    return Expression(text, _Parser(text, field).parse())


# -- walking and printing --------------------------------------------------------------------
def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, BinOp):
        return node.left, node.right
    if isinstance(node, Negate):
        return (node.operand,)
    if isinstance(node, Call):
        return (node.argument,)
    return ()


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in children(node):
        yield from _walk(child)


def literals(expression: Expression) -> list[Literal]:
    """The numbers as written, left to right."""
    return sorted((n for n in _walk(expression.root) if isinstance(n, Literal)), key=_position)


def _position(node: Literal) -> int:
    return node.position


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}


def unparse(node: Node | Expression) -> str:
    """The expression with the document's numbers and symbols, parenthesised only where needed."""
    if isinstance(node, Expression):
        return unparse(node.root)
    if isinstance(node, Literal):
        return node.text
    if isinstance(node, Constant):
        return node.name
    if isinstance(node, Call):
        return f"{node.name}({unparse(node.argument)})"
    if isinstance(node, Negate):
        inner = unparse(node.operand)
        return f"-{inner}" if _rank(node.operand) >= 3 else f"-({inner})"
    p = _PRECEDENCE[node.op]
    left, right = unparse(node.left), unparse(node.right)
    if _rank(node.left) < p or (node.op == "^" and _rank(node.left) <= p):
        left = f"({left})"
    tight = node.op != "^" and _rank(node.right) == p and node.op in "-/"
    if _rank(node.right) < p or tight or isinstance(node.right, Negate):
        right = f"({right})"
    return f"{left} {node.symbol} {right}"


def _rank(node: Node) -> int:
    if isinstance(node, BinOp):
        return _PRECEDENCE[node.op]
    return 3 if isinstance(node, Negate) else 5
