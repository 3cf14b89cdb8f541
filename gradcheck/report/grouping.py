"""A document's golden discrepancies grouped by root cause, as sentences, strongest first.

Derived from the golden records alone (``GoldenRecord.to_dict()``), never by judging again. A
record's root cause is its own when it begins an error (a typo, a slip, a copy, ...: the group
``"typo at line 73"``), the error it carries on when it is a ``knock-on`` or ``repeat`` (its
``group`` names that root the same way), the hypothesis it follows (``group`` is the
hypothesis, e.g. the update rule ``output-first``), or one shared group per rounding finding
(``intermediates``, ``float64``): rounded prints carried on are one cause however many prints
they touch.

Strongest first: the document's errors (a group's size is every print the error reaches), then
the conventions a hypothesis explains, then rounding; within each, more prints first, then the
earlier in the document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

from gradcheck.golden.findings import ERRORS

__all__ = ["CauseGroup", "cause_groups"]

Tier = Literal["error", "convention", "rounding"]
_TIERS: tuple[Tier, ...] = ("error", "convention", "rounding")
_ROUNDING = frozenset({"intermediates", "float64"})
_CARRIED = frozenset({"knock-on", "repeat"})  # their ``group`` names the root they carry
_ERROR_WORDS = {
    "typo": "a typo",
    "slip": "an arithmetic slip",
    "copied": "a value copied from another quantity",
    "unexplained": "an unexplained error",
    "operator": "a wrong operator in the shown arithmetic",
    "formula": "a wrong formula",
}
_CONVENTION_WORDS = {
    "rule": "the document's update rule",
    "loss": "another loss than the spec's",
    "factor": "a constant factor on the loss",
    "learning-rate": "another learning rate",
    "transposed": "transposed weights",
    "formula": "a wrong derivative formula",
}
_ROUNDING_WORDS = {
    "intermediates": "rounded or truncated intermediate values carried on",
    "float64": "float64 rounding in the document's own code",
}


class CauseGroup(TypedDict):
    """One root cause and the discrepancies it explains: ``key`` (as records' ``group`` name it,
    or the rounding finding), ``tier`` (error, convention, rounding), ``finding`` (the root's),
    ``title`` (a sentence), ``root`` (the root record's index, None for rounding), ``records``
    (indices into the network's records, in document order) and one ``sentences`` each."""

    key: str
    tier: Tier
    finding: str
    title: str
    root: int | None
    records: list[int]
    sentences: list[str]


def _line(r: Mapping[str, Any], i: int) -> str:
    """Where a record is, as golden's findings name it: the ``where`` up to its colon."""
    return str(r.get("where") or "").split(":")[0] or f"documented[{i}]"


def _own_key(r: Mapping[str, Any], i: int) -> str | None:
    """The root cause a record begins, None when it carries another's."""
    finding, group = str(r.get("finding") or ""), str(r.get("group") or "")
    if finding in _CARRIED and group:
        return None
    if group:
        return group
    if finding in _ROUNDING:
        return finding
    return f"{finding or 'unexplained'} at {_line(r, i)}"


def _tier(r: Mapping[str, Any]) -> Tier:
    finding = str(r.get("finding") or "")
    if finding in _ROUNDING:
        return "rounding"
    if r.get("group") and finding not in _CARRIED:
        return "convention"  # a hypothesis: systematic, not a mistake carried on
    return "error" if finding in ERRORS or not finding else "convention"


def _sentence(r: Mapping[str, Any]) -> str:
    """``out:y2 printed 0.439 at line 26 (y_hat2); knock-on from ...``: the print, where, why."""
    what = str(r.get("where") or "").partition(":")[2].strip()
    at = _line(r, 0) + (f" ({what})" if what and what != r["quantity"] else "")
    cause = r.get("cause") or "no cause found"
    return f"{r['quantity']} printed {r['documented']} at {at}; {cause}"


def _title(tier: Tier, finding: str, key: str, root: Mapping[str, Any] | None, n: int) -> str:
    prints = f"{n} print{'s' if n != 1 else ''}"
    if tier == "rounding":
        return _capital(f"{_ROUNDING_WORDS.get(finding, finding)} ({prints})")
    if tier == "convention":
        if finding == "rule":
            return f"The document's update rule {key} explains {prints}"
        return _capital(f"{_CONVENTION_WORDS.get(finding, finding)} ({key}) explains {prints}")
    if root is None:  # its root is not among the discrepancies: named as its prints name it
        return f"{key} ({prints})"
    began = f"{_ERROR_WORDS.get(finding, finding)} at {key.rpartition(' at ')[2]}"
    what = f"{root['quantity']} printed {root['documented']}"
    more = f", and the {n - 1} print{'s' if n != 2 else ''} it reaches" if n > 1 else ""
    return _capital(f"{began} ({what}){more}")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def cause_groups(records: Sequence[Mapping[str, Any]]) -> list[CauseGroup]:
    """The discrepancies of one document's records grouped by root cause, strongest first (the
    module docstring has the order)."""
    roots: dict[str, int] = {}  # key -> the record that begins it
    at_line: dict[str, str] = {}  # "finding at line" -> the key of the record there
    for i, r in enumerate(records):
        if r.get("verdict") != "discrepancy" or (key := _own_key(r, i)) is None:
            continue
        roots.setdefault(key, i)
        at_line.setdefault(f"{r.get('finding')} at {_line(r, i)}", key)
    members: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        if r.get("verdict") != "discrepancy":
            continue
        key = _own_key(r, i) or str(r.get("group"))
        key = key if key in roots else at_line.get(key, key)  # a repeat of a rounding print
        members.setdefault(key, []).append(i)
    groups = []
    for key, found in members.items():
        root = roots.get(key)
        head = records[root if root is not None else found[0]]
        tier, finding = _tier(head), str(head.get("finding") or "unexplained")
        named = head if tier != "rounding" else None
        groups.append(
            CauseGroup(
                key=key,
                tier=tier,
                finding=finding,
                title=_title(tier, finding, key, named, len(found)),
                root=root if tier != "rounding" else None,
                records=found,
                sentences=[_sentence(records[i]) for i in found],
            )
        )
    return sorted(
        groups, key=lambda g: (_TIERS.index(g["tier"]), -len(g["records"]), g["records"][0])
    )
