"""The report's data model: the records the checks produce and the page renders.

:class:`ReportData` is the exact content of ``report.json``: :mod:`gradcheck.report.run` fills
it from golden, verify, strategies and train, :mod:`gradcheck.report.render` draws it. This
module also holds what turns records into report data without drawing anything: what the
report is about and so the order of its sections (:func:`report_subject`), the banner's verdict
counts (:func:`summary_counts`, chip colours by :func:`status_of`), a spec's diagram data
(:func:`network_sketch`) and strict JSON values (:func:`to_jsonable`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

import numpy as np

from gradcheck.report.blocks import BlockSketch, layer_blocks
from gradcheck.report.grouping import CauseGroup
from gradcheck.spec import GradcheckError, Spec

__all__ = [
    "SCHEMA",
    "BannerStatus",
    "BiasSketch",
    "BlockSketch",
    "CheckCount",
    "GoldenNetwork",
    "NetworkSketch",
    "Record",
    "ReportData",
    "ReportError",
    "Subject",
    "Summary",
    "network_sketch",
    "network_word",
    "report_subject",
    "status_of",
    "summary_counts",
    "to_jsonable",
]

SCHEMA = "gradcheck-report/1"
# The sections after the banner, as ``CheckCount.section`` and the page's anchors name them.
SECTIONS = ("golden", "gradients", "properties", "training")
# About the seed documents and gradcheck itself, not the gradient under test: after the user's
# checks, and collapsed, when the report is about the user's work.
SEED_SECTIONS = ("golden", "training")
BannerStatus = Literal["pass", "warn", "fail"]
Record = Mapping[str, Any]
"""A record's ``to_dict()`` from golden/compare/train: JSON-able, keys as documented below."""


class ReportError(GradcheckError):
    """The report could not be written (``str(err)`` names the path, or the value that has no
    JSON form)."""


class BiasSketch(TypedDict):
    """A layer's bias: one label/value when ``shared``, else one per neuron."""

    labels: list[str]
    values: list[float]
    shared: bool
    trainable: bool


class NetworkSketch(TypedDict):
    """What the diagram draws: unit names per layer (layer 0 = inputs), each layer's ``W``
    (row = output neuron) with the document's labels, activation and bias per layer; for a
    network with other kinds than dense, ``blocks`` (the input first) and no units."""

    units: list[list[str]]
    activations: list[str]
    weights: list[list[list[float]]]
    weight_labels: list[list[list[str]]]
    biases: list[BiasSketch | None]
    blocks: list[BlockSketch]


class CheckCount(TypedDict):
    """One check's tally for the banner: how many records carry each verdict word, and how
    many of those are failures of the code under test."""

    check: str
    section: str
    total: int
    failed: int
    counts: dict[str, int]


class Summary(TypedDict):
    ok: bool
    failures: int
    checks: list[CheckCount]
    unchecked: list[str]  # the checks whose every network was unsupported: nothing checked


class GoldenNetwork(TypedDict):
    """A documented network's golden table (the user's, or a seed's): its diagram, golden.py's
    records (``to_dict()``: network, quantity, where, documented, computed, verdict, cause)
    and its discrepancies grouped by root cause (:func:`~gradcheck.report.grouping.cause_groups`
    of the records)."""

    network: str
    source: str
    sketch: NetworkSketch
    records: list[Record]
    causes: list[CauseGroup]
    yours: NotRequired[bool]  # a network the user named, its own document's values: first


class Subject(TypedDict):
    """What the report is about, and so the page's order.

    ``specs``: the user's spec files, as loaded (a folder stands for its ``*.toml``), empty for
    the built-in networks; ``candidate``: the ``--candidate`` reference, None for gradcheck's
    hand-derived backprop; ``user_work``: either was given; ``order``: the sections after the
    banner, in page order; ``collapsed``: those drawn closed (``<details>``).
    """

    specs: list[str]
    candidate: str | None
    user_work: bool
    order: list[str]
    collapsed: list[str]


class ReportData(TypedDict):
    """Everything the page shows, JSON-able; written verbatim as ``report.json``.

    ``subject``: what the report is about (:class:`Subject`); ``gradients``:
    verdict.NetworkVerdict.to_dict() per network checked, the user's specs or, when none were
    given, the built-in networks; ``properties``: the generated-network run (count, seed,
    architectures, errors per oracle, the worst case with its values, shrunk counterexample,
    verdicts; a failing network's record also holds its ``replay`` TOML and, once written,
    ``replay_path`` and ``reproduce``, the command that checks it again); ``training``:
    train.TrainResult.to_dict() per seed network plus ``finals`` (documented vs computed);
    ``environment``: versions, device, seeds, command.
    """

    schema: str
    subject: Subject
    summary: Summary
    golden: list[GoldenNetwork]
    gradients: Sequence[Record]
    properties: Record
    training: Sequence[Record]
    environment: Record


# Every verdict word the producing modules use, mapped to a chip colour.
_STATUS: dict[str, BannerStatus] = {
    **dict.fromkeys(("match", "ok", "pass", "verified", "agree"), "pass"),
    # a truncated print, an FD step that was the problem, a kink, every group frozen: reported
    **dict.fromkeys(
        ("match-truncated", "fd-artefact", "precision-limited", "non-differentiable here"),
        "warn",
    ),
    # not checked (the candidate or its family said so), every group frozen: counted apart
    **dict.fromkeys(("unsupported", "nothing to check", "warn"), "warn"),
    **dict.fromkeys(
        ("discrepancy", "backprop-bug", "structure", "dtype-mismatch", "oracle-disagreement"),
        "fail",
    ),
    "unresolved": "fail",
    **dict.fromkeys(("fail", "failed", "error", "disagree"), "fail"),
}


def status_of(verdict: object) -> BannerStatus:
    """Chip colour of a verdict word; an unknown word is shown as a failure, never hidden."""
    return _STATUS.get(str(verdict).lower(), "fail")


def network_word(verdict: Record) -> str:
    """``verified``, ``failed``, ``unsupported`` (not checked: the candidate does not handle
    it) or ``nothing to check`` (ok, every group frozen): a ``NetworkVerdict.to_dict()``'s (or a
    generated network's record's) verdict in one word."""
    if verdict.get("unsupported"):
        return "unsupported"
    if verdict.get("nothing_to_check"):
        return "nothing to check"
    return "verified" if verdict["ok"] else "failed"


def _count(check: str, section: str, words: Sequence[str], order: Sequence[str]) -> CheckCount:
    """Records per verdict word (every word in ``order`` shown, even at 0)."""
    counts = {w: words.count(w) for w in order} | {w: words.count(w) for w in sorted(set(words))}
    failed = sum(n for w, n in counts.items() if status_of(w) == "fail")
    return CheckCount(check=check, section=section, total=len(words), failed=failed, counts=counts)


def summary_counts(
    golden: Sequence[GoldenNetwork],
    gradients: Sequence[Record],
    properties: Record,
    training: Sequence[Record],
) -> Summary:
    """Tally the verdicts already in the records. A golden discrepancy is a finding about the
    document, not a failure of the code: it is counted and marked, but fails nothing. A check
    whose every network was unsupported checked nothing: it fails nothing, and the report is not
    ok (``unchecked``), as ``gradcheck verify`` exits 1 there."""
    golden_count = _count(
        "golden values",
        "golden",
        [str(r["verdict"]) for g in golden for r in g["records"]],
        ("match", "match-truncated", "discrepancy"),
    )
    checks = [
        CheckCount(**{**golden_count, "failed": 0}),
        _count(
            "gradient checks",
            "gradients",
            [network_word(v) for v in gradients],
            ("verified", "failed"),
        ),
        _count(
            "generated networks",
            "properties",
            [network_word(n) for n in properties.get("networks", [])],
            ("verified", "failed"),
        ),
        _count(
            "training, JAX vs NumPy",
            "training",
            [str(t["status"]) for t in training],
            ("agree", "disagree"),
        ),
    ]
    failures = sum(c["failed"] for c in checks)
    # as ``gradcheck verify``: generated networks asked for and none checked, or nothing checked
    # at all, is not a pass (given networks all unsupported beside checked generated ones is)
    by = {c["section"]: c for c in checks}
    none = {
        k: bool(c["total"]) and c["counts"].get("unsupported") == c["total"] for k, c in by.items()
    }
    drawn, given = by["properties"], by["gradients"]
    unchecked = [drawn["check"]] if none["properties"] else []
    if none["gradients"] and (none["properties"] or not drawn["total"]):
        unchecked.insert(0, given["check"])
    return Summary(
        ok=failures == 0 and not unchecked, failures=failures, checks=checks, unchecked=unchecked
    )


def report_subject(
    specs: Sequence[str], candidate: str | None, summary: Summary, own_documents: bool = False
) -> Subject:
    """What the report is about and the order that follows. The user's work (spec files, or a
    candidate) comes first: its gradient checks, then the generated networks; the seed
    documents' golden cases and training check gradcheck itself, so they come after, collapsed
    unless they hold a failure (the golden cases stay open where they hold the user's own
    documents' values: ``own_documents``). With neither, the report is about gradcheck itself, in
    :data:`SECTIONS` order, nothing collapsed."""
    user_work = bool(specs) or candidate is not None
    if not user_work:
        return Subject(
            specs=[], candidate=None, user_work=False, order=list(SECTIONS), collapsed=[]
        )
    failed = {c["section"] for c in summary["checks"] if c["failed"]}
    return Subject(
        specs=list(specs),
        candidate=candidate,
        user_work=True,
        order=[s for s in SECTIONS if s not in SEED_SECTIONS] + list(SEED_SECTIONS),
        collapsed=[
            s for s in SEED_SECTIONS if s not in failed and not (s == "golden" and own_documents)
        ],
    )


def network_sketch(spec: Spec) -> NetworkSketch:
    """The diagram's data for a spec: unit and weight names as the document labels them
    (``h1``, ``w5``), falling back to ``layer 2 W[0,1]``-style labels; a network with other
    kinds than dense is sketched as blocks, one per layer, with each sample's shape."""
    if not spec.is_dense:
        return NetworkSketch(
            units=[],
            activations=list(spec.activations),
            weights=[],
            weight_labels=[],
            biases=[],
            blocks=layer_blocks(spec),
        )
    units = [[f"x{j + 1}" for j in range(spec.sizes[0])]]
    by_unit = {loc: name for name, loc in spec.unit_names.items()}
    for i, n in enumerate(spec.sizes[1:], start=1):
        units.append([by_unit.get((i, j), f"n{i}.{j + 1}") for j in range(n)])
    units[0] = [by_unit.get((0, j), units[0][j]) for j in range(spec.sizes[0])]
    trainable, frozen = spec.initial_params(), spec.frozen_params()
    weights: list[list[list[float]]] = []
    labels: list[list[list[str]]] = []
    biases: list[BiasSketch | None] = []
    for i, (t, f) in enumerate(zip(trainable, frozen, strict=True)):
        w = {**f, **t}["W"]
        weights.append(w.tolist())
        labels.append(
            [[spec.label(i, "W", (r, c)) for c in range(w.shape[1])] for r in range(w.shape[0])]
        )
        b = t.get("b", f.get("b"))
        if b is None:
            biases.append(None)
            continue
        idx = [()] if b.ndim == 0 else [(j,) for j in range(b.shape[0])]
        biases.append(
            BiasSketch(
                labels=[spec.label(i, "b", k) for k in idx],
                values=np.atleast_1d(b).tolist(),
                shared=b.ndim == 0,
                trainable="b" in t,
            )
        )
    return NetworkSketch(
        units=units,
        activations=list(spec.activations),
        weights=weights,
        weight_labels=labels,
        biases=biases,
        blocks=[],
    )


def to_jsonable(value: object) -> Any:
    """Plain JSON types: NumPy scalars/arrays become Python, non-finite floats the strings
    ``"nan"``, ``"inf"``, ``"-inf"`` (strict JSON has no such numbers), tuples lists."""
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    raise ReportError(f"report data: cannot write {type(value).__name__} {value!r} to JSON")
