"""Mutants of a module's source: one small fault planted at a time, for a mutation score.

A mutant is the module's source with one expression changed. The sites are found by walking
its syntax tree (:mod:`ast`); the change is written back into the text at that expression's
position, so the rest of the file, its comments and its line numbers stay as they were, and the
mutated text is parsed again: it must give exactly the intended tree (otherwise the change is
tried in parentheses, then dropped). The operators, by name (:data:`OPERATORS`):

- ``arithmetic``: ``+`` <-> ``-`` and ``*`` <-> ``/`` (also in ``+=``, ``-=``, ``*=``, ``/=``);
- ``drop-term``: a term or factor left out: ``a + b`` -> ``a`` and -> ``b``, ``a - b`` -> ``a``,
  ``a * b`` -> ``a`` and -> ``b``, ``a / b`` -> ``a``;
- ``swap``: the operands of ``-``, ``/`` and ``@`` swapped; two adjacent positional arguments of
  a call swapped;
- ``transpose``: ``x.T`` -> ``x``;
- ``sign``: ``-x`` -> ``x``; a nonzero number ``c`` -> ``-c``;
- ``constant``: a number ``c`` -> ``c + 1``;
- ``axis``: ``axis=0`` -> ``axis=-1`` and any other ``axis=k`` -> ``axis=0`` (also the axis a
  reduction method gets first, as in ``.sum(1)``); ``keepdims=True`` -> ``keepdims=False``;
- ``condition``: a comparison negated (``>`` <-> ``<=``, ``<`` <-> ``>=``, ``==`` <-> ``!=``,
  ``in`` <-> ``not in``, ``is`` <-> ``is not``); ``and`` <-> ``or``.

Not mutated: annotations, f-strings, and the expressions on a line marked ``# pragma: no mutate``.

A small :mod:`ast` mutator rather than mutmut or cosmic-ray: those rewrite files on disk (or keep
a session database) and run a test command per mutant; here a mutant is a string, imported in a
process that keeps JAX compiled, and judged by comparing gradients (see
:mod:`~gradcheck.checking.mutation`).
"""

from __future__ import annotations

import ast
import difflib
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from gradcheck.errors import GradcheckError

__all__ = ["OPERATORS", "PRAGMA", "Mutant", "mutants", "statement_ran"]

OPERATORS = (
    "arithmetic",
    "drop-term",
    "swap",
    "transpose",
    "sign",
    "constant",
    "axis",
    "condition",
)
PRAGMA = "# pragma: no mutate"

_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.MatMult: "@",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.And: "and",
    ast.Or: "or",
}
_ARITHMETIC: dict[type[ast.AST], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
}
_NEGATED: dict[type[ast.AST], type[ast.cmpop]] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
# Methods whose first positional argument is an axis: ``x.sum(1)``.
_REDUCTIONS = frozenset(
    ("sum", "mean", "max", "min", "prod", "std", "var", "any", "all", "argmax", "argmin")
)


@dataclass(frozen=True)
class Mutant:
    """One mutant of module ``module`` (file ``path``): ``operator`` changed the expression at
    ``line``:``column`` (``description``: before -> after); ``source`` is the whole mutated
    module and ``diff`` the unified diff of the changed lines."""

    module: str
    path: str
    line: int
    column: int
    operator: str
    description: str
    diff: str
    source: str = field(repr=False)

    def changed_lines(self) -> list[str]:
        """The diff's removed and added lines (``-`` and ``+`` first), without its headers."""
        return [
            line
            for line in self.diff.splitlines()
            if line[:1] in "-+" and not line.startswith(("---", "+++"))
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "operator": self.operator,
            "description": self.description,
            "diff": self.diff,
        }


def mutants(
    source: str, path: str, module: str, operators: Collection[str] = OPERATORS
) -> list[Mutant]:
    """Every mutant of ``source`` (module ``module``, file ``path``) by the ``operators``, in
    the order of the file; two changes that give the same text are one mutant."""
    unknown = sorted(set(operators) - set(OPERATORS))
    if unknown:
        raise GradcheckError(f"unknown mutation operators {unknown}; known: {', '.join(OPERATORS)}")
    text = _Text(source, path)
    axes = _axis_nodes(text.tree)
    found: dict[str, Mutant] = {}
    for parent, name, index, node in _sites(text.tree):
        if text.marked(node):
            continue
        changes = _changes(text, node, parent)
        if id(node) in axes:  # an axis: the axis operator changes it, as an axis
            changes = [c for c in changes if c[0] not in ("sign", "constant")]
        for operator, new, replacement, description in changes:
            if operator not in operators:
                continue
            mutated = text.splice(parent, name, index, node, new, replacement)
            if mutated is None or mutated in found:
                continue
            found[mutated] = Mutant(
                module=module,
                path=path,
                line=node.lineno,  # type: ignore[attr-defined]
                column=node.col_offset,  # type: ignore[attr-defined]
                operator=operator,
                description=description,
                diff=text.diff(mutated),
                source=mutated,
            )
    order = {op: k for k, op in enumerate(OPERATORS)}
    return sorted(found.values(), key=lambda m: (m.line, m.column, order[m.operator]))


class _Text:
    """A module's source with its tree, the character offset of each node and its diff."""

    def __init__(self, source: str, path: str) -> None:
        self.source = source
        self.path = path
        self.tree = ast.parse(source, path)
        # the lines as ast numbers them: \n, \r\n or \r ends a line (a form feed does not)
        self.lines = io.StringIO(source, newline="").readlines()
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.pragmas = {k + 1 for k, line in enumerate(self.lines) if PRAGMA in line}

    def offset(self, line: int, column: int) -> int:
        """Character offset of ``line`` (1-based) and ``column`` (UTF-8 bytes, as ast counts)."""
        text = self.lines[line - 1].encode()[:column].decode(errors="replace")
        return self.starts[line - 1] + len(text)

    def span(self, node: ast.AST) -> tuple[int, int]:
        n: Any = node
        return self.offset(n.lineno, n.col_offset), self.offset(n.end_lineno, n.end_col_offset)

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.source[start:end]

    def between(self, left: ast.AST, right: ast.AST) -> str:
        """The text from the end of ``left`` to the start of ``right``."""
        return self.source[self.span(left)[1] : self.span(right)[0]]

    def marked(self, node: ast.AST) -> bool:
        n: Any = node
        return any(k in self.pragmas for k in range(n.lineno, n.end_lineno + 1))

    def splice(
        self,
        parent: ast.AST,
        name: str,
        index: int | None,
        node: ast.AST,
        new: ast.AST,
        replacement: str | None,
    ) -> str | None:
        """The source with ``node`` (``parent.name[index]``) replaced by ``new``, written as
        ``replacement`` (else ``ast.unparse(new)``), bare or in parentheses: the first that
        parses to the intended tree; None if neither does."""
        slot: Any = getattr(parent, name)
        if index is None:
            setattr(parent, name, new)
        else:
            slot[index] = new
        try:
            intended = ast.dump(self.tree)
        finally:
            if index is None:
                setattr(parent, name, node)
            else:
                slot[index] = node
        start, end = self.span(node)
        written = [replacement] if replacement is not None else []
        written.append(ast.unparse(new))
        for text in [*written, *(f"({w})" for w in written)]:
            mutated = self.source[:start] + text + self.source[end:]
            try:
                if ast.dump(ast.parse(mutated)) == intended:
                    return mutated
            except SyntaxError:
                continue
        return None

    def diff(self, mutated: str) -> str:
        lines = difflib.unified_diff(
            self.source.splitlines(),
            mutated.splitlines(),
            fromfile=self.path,
            tofile=f"{self.path} (mutant)",
            n=0,
            lineterm="",
        )
        return "\n".join(lines)


def _sites(node: ast.AST) -> Iterator[tuple[ast.AST, str, int | None, ast.AST]]:
    """``(parent, field, index, child)`` for every node with a position, annotations and
    f-strings left out (index None: the field holds one node, not a list)."""
    for name, value in ast.iter_fields(node):
        if name in ("annotation", "returns"):
            continue
        children = value if isinstance(value, list) else [value]
        for k, child in enumerate(children):
            if not isinstance(child, ast.AST) or isinstance(child, ast.JoinedStr):
                continue
            if hasattr(child, "end_col_offset") and child.end_col_offset is not None:
                yield node, name, k if isinstance(value, list) else None, child
            yield from _sites(child)


Change = tuple[str, ast.AST, str | None, str]  # operator, new node, its text, description


def _changes(text: _Text, node: ast.AST, parent: ast.AST) -> list[Change]:
    """The changes the operators make at ``node`` (its ``parent`` decides a number's sign)."""
    if isinstance(node, ast.BinOp):
        return _binop_changes(text, node)
    if isinstance(node, ast.AugAssign) and type(node.op) in _ARITHMETIC:
        return _augmented_changes(text, node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        kept = text.segment(node.operand)
        return [("sign", node.operand, kept, f"{_short(text.segment(node))} -> {_short(kept)}")]
    if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
        kept = text.segment(node.value)
        return [("transpose", node.value, kept, f"{_short(text.segment(node))} -> {_short(kept)}")]
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _NEGATED:
        return _compare_changes(text, node)
    if isinstance(node, ast.BoolOp):
        return _boolean_changes(text, node)
    if isinstance(node, ast.keyword):
        return _keyword_changes(node)
    if isinstance(node, ast.Call):
        return _call_changes(text, node)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _number_changes(text, node, value, parent)
    return []


def _augmented_changes(text: _Text, node: ast.AugAssign) -> list[Change]:
    op = _ARITHMETIC[type(node.op)]()
    new = ast.AugAssign(target=node.target, op=op, value=node.value)
    gap = _swap_symbol(text.between(node.target, node.value), node.op, op, suffix="=")
    written = None if gap is None else text.segment(node.target) + gap + text.segment(node.value)
    return [("arithmetic", new, written, f"{_sym(node.op)}= -> {_sym(op)}=")]


def _compare_changes(text: _Text, node: ast.Compare) -> list[Change]:
    op = _NEGATED[type(node.ops[0])]()
    new = ast.Compare(left=node.left, ops=[op], comparators=node.comparators)
    gap = _swap_symbol(text.between(node.left, node.comparators[0]), node.ops[0], op)
    written = None
    if gap is not None:
        written = text.segment(node.left) + gap + text.segment(node.comparators[0])
    return [("condition", new, written, f"{_sym(node.ops[0])} -> {_sym(op)}")]


def _boolean_changes(text: _Text, node: ast.BoolOp) -> list[Change]:
    op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    parts: list[str | None] = [text.segment(node.values[0])]
    for left, right in zip(node.values, node.values[1:], strict=False):
        parts += [_swap_symbol(text.between(left, right), node.op, op), text.segment(right)]
    written = None if None in parts else "".join(p or "" for p in parts)
    new = ast.BoolOp(op=op, values=node.values)
    return [("condition", new, written, f"{_sym(node.op)} -> {_sym(op)}")]


def _binop_changes(text: _Text, node: ast.BinOp) -> list[Change]:
    left, right = text.segment(node.left), text.segment(node.right)
    gap, kind = text.between(node.left, node.right), type(node.op)
    whole = _short(text.segment(node))
    found: list[Change] = []
    if kind in _ARITHMETIC:
        op = _ARITHMETIC[kind]()
        swapped = _swap_symbol(gap, node.op, op)
        written = None if swapped is None else left + swapped + right
        new = ast.BinOp(left=node.left, op=op, right=node.right)
        found.append(("arithmetic", new, written, f"{_sym(node.op)} -> {_sym(op)}"))
    if kind in (ast.Add, ast.Sub, ast.Mult, ast.Div):
        found.append(("drop-term", node.left, left, f"{whole} -> {_short(left)}"))
    if kind in (ast.Add, ast.Mult):
        found.append(("drop-term", node.right, right, f"{whole} -> {_short(right)}"))
    if kind in (ast.Sub, ast.Div, ast.MatMult):
        new = ast.BinOp(left=node.right, op=node.op, right=node.left)
        found.append(("swap", new, right + gap + left, f"operands of {_sym(node.op)} swapped"))
    return found


def _keyword_changes(node: ast.keyword) -> list[Change]:
    if node.arg == "axis":
        axis = _literal_axis(node.value)
        if axis is _NOT_AXIS:
            return []
        value = _axis_node(-1 if axis == 0 else 0)
        new = ast.keyword(arg="axis", value=value)
        written = f"axis={ast.unparse(value)}"
        return [("axis", new, written, f"axis={axis} -> {written}")]
    if node.arg == "keepdims" and isinstance(node.value, ast.Constant) and node.value.value is True:
        new = ast.keyword(arg="keepdims", value=ast.Constant(value=False))
        return [("axis", new, "keepdims=False", "keepdims=True -> keepdims=False")]
    return []


def _call_changes(text: _Text, node: ast.Call) -> list[Change]:
    args = node.args
    found: list[Change] = []
    if _reduction(node):  # x.sum(1): the axis given first
        axis = _literal_axis(args[0])
        value = _axis_node(-1 if axis == 0 else 0)
        new = ast.Call(func=node.func, args=[value, *args[1:]], keywords=node.keywords)
        start, end = text.span(node)
        a, b = text.span(args[0])
        written = text.source[start:a] + ast.unparse(value) + text.source[b:end]
        found.append(("axis", new, written, f"axis {axis} -> {ast.unparse(value)}"))
    if any(isinstance(a, ast.Starred) for a in args):
        return found
    for k in range(len(args) - 1):
        first, second = text.segment(args[k]), text.segment(args[k + 1])
        if first == second:
            continue
        swapped = [*args[:k], args[k + 1], args[k], *args[k + 2 :]]
        new = ast.Call(func=node.func, args=swapped, keywords=node.keywords)
        start, end = text.span(node)
        (a, b), (c, d) = text.span(args[k]), text.span(args[k + 1])
        src = text.source
        written = src[start:a] + second + src[b:c] + first + src[d:end]
        description = f"swap arguments {k + 1} and {k + 2} ({_short(first)}, {_short(second)})"
        found.append(("swap", new, written, description))
    return found


def _number_changes(text: _Text, node: ast.Constant, value: float, parent: ast.AST) -> list[Change]:
    old = text.segment(node)
    bumped = value + 1
    found: list[Change] = [
        ("constant", ast.Constant(value=bumped), repr(bumped), f"{old} -> {bumped!r}")
    ]
    # Not flipped: -c (the sign operator drops its minus) and x +- c (arithmetic swaps the op).
    negated = isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub)
    added = (
        isinstance(parent, ast.BinOp)
        and isinstance(parent.op, ast.Add | ast.Sub)
        and parent.right is node
    )
    if value != 0 and not negated and not added:
        new = ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=value))
        found.append(("sign", new, f"-{old}", f"{old} -> -{old}"))
    return found


def _swap_symbol(gap: str, old: ast.AST, new: ast.AST, suffix: str = "") -> str | None:
    """``gap`` (the text between two operands) with operator ``old`` written as ``new``; None
    when the gap holds more than the operator, brackets and blanks (a comment, say)."""
    core = gap.strip(" \t\r\n()\\")
    if " ".join(core.split()) != _sym(old) + suffix:
        return None
    at = gap.index(core)
    return gap[:at] + _sym(new) + suffix + gap[at + len(core) :]


def _sym(op: ast.AST) -> str:
    return _SYMBOLS[type(op)]


_NOT_AXIS = object()


def _literal_axis(node: ast.AST) -> object:
    """The int (or None) an axis expression spells, else ``_NOT_AXIS``."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return _NOT_AXIS
    ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
    return value if ok else _NOT_AXIS


def _axis_node(axis: int) -> ast.expr:
    if axis < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-axis))
    return ast.Constant(value=axis)


def _reduction(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in _REDUCTIONS
        and bool(node.args)
        and _literal_axis(node.args[0]) is not _NOT_AXIS
    )


def _axis_nodes(tree: ast.AST) -> set[int]:
    """The ids of the nodes that spell an axis (``axis=...``, a reduction's first argument)."""
    values = [k.value for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "axis"]
    values += [c.args[0] for c in ast.walk(tree) if isinstance(c, ast.Call) and _reduction(c)]
    return {id(n) for v in values for n in ast.walk(v)}


def _short(text: str, width: int = 40) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def statement_ran(source: str, line: int, ran: set[int]) -> bool:
    """Whether the innermost statement holding ``line`` of ``source`` ran (some line of it is in
    ``ran``); True too for a statement outside every function (it runs when the module loads,
    where no call was traced) and for a line no statement holds."""
    tree = ast.parse(source)
    best: tuple[int, ast.stmt] | None = None
    inside_function = False
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first, last = node.body[0].lineno, node.end_lineno or node.lineno
            inside_function = inside_function or first <= line <= last
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or line):
            span = (node.end_lineno or node.lineno) - node.lineno
            if best is None or span < best[0]:
                best = (span, node)
    if best is None or not inside_function:
        return True
    node = best[1]
    return any(k in ran for k in range(node.lineno, (node.end_lineno or node.lineno) + 1))
