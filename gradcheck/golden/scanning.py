"""``gradcheck golden --scan``: a document scanned against a spec, written out for review.

:func:`scan_document` reads the document (:mod:`~gradcheck.golden.documents`), finds its numbers
(:mod:`~gradcheck.golden.scan`) and proposes entries (:mod:`~gradcheck.golden.proposals`);
:func:`scanned_toml` is the spec with those entries as its ``[[documented]]`` list, a TOML
comment on each proposal that is not a plain value match, and every number not proposed listed
last as a comment with its line and bucket (:data:`BUCKETS`);
:func:`write_atomically` writes it through a temporary file renamed into place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from gradcheck.golden.candidates import candidates
from gradcheck.golden.documents import DocLine
from gradcheck.golden.proposals import Listed, Proposal, ScanResult, propose
from gradcheck.golden.scan import numbers
from gradcheck.spec import Spec
from gradcheck.spec.specfile import dump_toml, write_text_atomically

__all__ = [
    "BUCKETS",
    "document_steps",
    "scan_document",
    "scanned_toml",
    "summary",
    "write_atomically",
]

_LITERAL = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_HOW = {
    "near": "near its value, as the label names it",
    "arithmetic": "the line's own arithmetic gives this quantity",
    "copy": "the value of a sibling, printed under this label",
    "repeat": "repeats an earlier print of it",
    "stated": "a given constant stated with another value",
    "close": "an operand within 1e-4 of it",
}


_STEP_WORDS = re.compile(
    r"(\d{1,6})\s*(?:times|iterations?|epochs?|steps?|updates?|rounds?)|"
    r"(?:after|for)\s+(\d{1,6})\b",
    re.IGNORECASE,
)


def document_steps(lines: Sequence[DocLine], limit: int = 100_000) -> tuple[int, ...]:
    """Steps 0 to 3, and every step count the document names ("after 10000 iterations")."""
    found = {0, 1, 2, 3}
    for line in lines:
        for m in _STEP_WORDS.finditer(line.text):
            n = int(m.group(1) or m.group(2))
            if 0 < n <= limit:
                found.add(n)
    return tuple(sorted(found))


BUCKETS = {
    "proposed": ("proposed", "proposed"),
    "given": ("given constant", "given constants"),
    "operand": ("operand of a proposed expression", "operands of proposed expressions"),
    "repeat": ("repeat", "repeats"),
    "ambiguous": ("ambiguous", "ambiguous"),
    "unmatched": ("unmatched", "unmatched"),
}
"""Where each number found lands, exactly one each, and the summary's words for one or many:
proposed (one entry, or two where a constant is stated wrong by name); a given constant,
stated, not proposed; an operand, not itself proposed, of arithmetic whose result is proposed
with that ``expression`` (the judge recomputes it); a repeat (an operand whose string, or whose
negation is a quantity's value, was read at an earlier print); ambiguous; unmatched."""


def _settled(result: ScanResult) -> ScanResult:
    """``result`` with every number in one bucket (:data:`BUCKETS`): a proposed one not listed
    too, a repeated operand of a proposed expression listed as its ``operand``."""
    proposed = {id(p.number) for p in result.proposals}
    shown = {
        (p.number.clause, literal)
        for p in result.proposals
        if p.number.role != "operand" and "expression" in (entry := p.entry())
        for literal in _LITERAL.findall(entry["expression"])
    }
    listed = []
    for x in result.listed:
        if id(x.number) in proposed:
            continue
        key = (x.number.clause, x.number.printed.lstrip("-"))
        listed.append(Listed(x.number, "operand") if x.status == "repeat" and key in shown else x)
    return ScanResult(result.found, result.proposals, listed)


def scan_document(spec: Spec, lines: list[DocLine]) -> ScanResult:
    """Every number of ``lines`` matched against ``spec``'s quantities, each in one bucket."""
    return _settled(propose(spec, numbers(lines), candidates(spec, document_steps(lines))))


def summary(result: ScanResult) -> str:
    """``N numbers found: M proposed (E entries), G given constants, O operands of proposed
    expressions, R repeats, K ambiguous, U unmatched``; the buckets add up to N."""
    entries = len(result.proposals)
    counts = [f"{n} {one if n == 1 else many}" for n, (one, many) in _counts(result)]
    counts[0] += f" ({entries} {'entry' if entries == 1 else 'entries'})"
    return f"{len(result.found)} numbers found: " + ", ".join(counts)


def _counts(result: ScanResult) -> list[tuple[int, tuple[str, str]]]:
    return [(result.count(bucket), words) for bucket, words in BUCKETS.items()]


def _comment(text: str) -> str:
    return "# " + " ".join(text.split())


def _proposal(p: Proposal) -> str:
    block = dump_toml({"documented": [p.entry()]}).lstrip("\n")
    notes = [_HOW[p.how]] if p.how in _HOW else []
    if p.rule:
        notes.append(f"reproduced under the update rule {p.rule!r}")
    return (_comment("; ".join(notes)) + "\n" if notes else "") + block


_NOT_PROPOSED = """\
# Not proposed, one line each as LINE: PRINTED, BUCKET (details): given (the constant the
# spec states), operand (of the expression proposed on its line, which the judge recomputes),
# repeat (read at an earlier print), ambiguous (its readings), unmatched (the nearest
# quantities, or nothing near)."""


def _unproposed(x: Listed) -> str:
    n = x.number
    if x.status == "operand":
        detail = n.context
    elif x.status == "repeat":
        detail = "read at an earlier print"
    else:
        detail = " or ".join(x.candidates) or "nothing near"
    return _comment(f"{n.where}: {n.printed}, {x.status} ({detail})")


def scanned_toml(spec: Spec, result: ScanResult, document: str) -> str:
    """The spec, the proposals as ``[[documented]]`` and the rest as comments, for review."""
    data = spec.model.model_dump(exclude_none=True)
    data["documented"] = []
    head = [
        _comment(f"Proposed by gradcheck golden --scan {document}: {summary(result)}."),
        "# Review every entry before trusting the verdicts; numbers not proposed are listed last.",
    ]
    parts = ["\n".join(head), dump_toml(data).rstrip("\n")]
    parts += [_proposal(p).rstrip("\n") for p in result.proposals]
    if result.listed:
        parts.append("\n".join([_NOT_PROPOSED, *(_unproposed(x) for x in result.listed)]))
    return "\n\n".join(parts) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write the scanned spec ``text`` to ``path`` through a temporary file renamed into place."""
    write_text_atomically(path, text, "write the scanned spec")
