"""``gradcheck golden --scan``: a document scanned against a spec, written out for review.

:func:`scan_document` reads the document (:mod:`~gradcheck.golden.documents`), finds its numbers
(:mod:`~gradcheck.golden.scan`) and proposes entries (:mod:`~gradcheck.golden.proposals`);
:func:`scanned_toml` is the spec with those entries as its ``[[documented]]`` list, each
proposal that is not a plain value match, and every ambiguous or unmatched number, as TOML
comments; :func:`write_atomically` writes it through a temporary file renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gradcheck.errors import GradcheckError
from gradcheck.golden.candidates import candidates
from gradcheck.golden.documents import DocLine
from gradcheck.golden.proposals import Proposal, ScanResult, propose
from gradcheck.golden.scan import numbers
from gradcheck.spec import Spec
from gradcheck.spec.specfile import dump_toml

__all__ = ["document_steps", "scan_document", "scanned_toml", "summary", "write_atomically"]

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


def scan_document(spec: Spec, lines: list[DocLine]) -> ScanResult:
    """Every number of ``lines`` matched against ``spec``'s quantities."""
    return propose(spec, numbers(lines), candidates(spec, document_steps(lines)))


def summary(result: ScanResult) -> str:
    """``N numbers found, M proposed, K ambiguous, U unmatched (G given constants)``."""
    return (
        f"{len(result.found)} numbers found, {len(result.proposals)} proposed, "
        f"{result.count('ambiguous')} ambiguous, {result.count('unmatched')} unmatched "
        f"({result.count('given')} given constants)"
    )


def _comment(text: str) -> str:
    return "# " + " ".join(text.split())


def _proposal(p: Proposal) -> str:
    block = dump_toml({"documented": [p.entry()]}).lstrip("\n")
    notes = [_HOW[p.how]] if p.how in _HOW else []
    if p.rule:
        notes.append(f"reproduced under the update rule {p.rule!r}")
    return (_comment("; ".join(notes)) + "\n" if notes else "") + block


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
    listed = [x for x in result.listed if x.status != "given"]
    if listed:
        lines = ["# Not proposed (ambiguous: the readings; unmatched: the nearest quantities):"]
        for x in listed:
            readings = " or ".join(x.candidates) if x.candidates else "nothing near"
            lines.append(_comment(f"{x.status}, {x.number.where}: {x.number.printed} ({readings})"))
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, renamed into
    place (a crash leaves no half file); an OS error is one line naming the file."""
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, path)
        tmp = ""
    except OSError as exc:
        raise GradcheckError(f"{path}: cannot write the scanned spec ({exc.strerror})") from None
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
