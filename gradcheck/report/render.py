"""The report: result records in, one self-contained HTML page and its JSON twin out.

Render, don't compute: every number shown arrives in a :class:`ReportData` dict (the exact
content of ``report.json``) assembled by the CLI from golden, verify, strategies and train;
this module only counts verdicts for the banner, formats and draws. The page has no external
scripts, fonts, styles or images; Jinja2 autoescapes every value, so a network named
``<script>`` shows as text. Both files are written to a temporary file in the output folder and
renamed, so a crash never leaves half a report.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined

from gradcheck.report import svg
from gradcheck.report.svg import NetworkSketch
from gradcheck.spec import GradcheckError, Spec

__all__ = [
    "CheckCount",
    "GoldenNetwork",
    "ReportData",
    "ReportError",
    "Summary",
    "make_out_dir",
    "network_sketch",
    "render_html",
    "status_of",
    "summarize",
    "to_jsonable",
    "write_report",
]

SCHEMA = "gradcheck-report/1"
Status = Literal["pass", "warn", "fail"]
Record = Mapping[str, Any]
"""A record's ``to_dict()`` from golden/compare/train: JSON-able, keys as documented below."""


class ReportError(GradcheckError):
    """The report could not be written (``str(err)`` names the path)."""


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


class GoldenNetwork(TypedDict):
    """A seed network's golden table: its diagram and golden.py's records (``to_dict()``:
    network, quantity, where, documented, computed, verdict, cause)."""

    network: str
    source: str
    sketch: NetworkSketch
    records: list[Record]


class ReportData(TypedDict):
    """Everything the page shows, JSON-able; written verbatim as ``report.json``.

    ``gradients``: compare.NetworkVerdict.to_dict() per built-in network; ``properties``: the
    generated-network run (count, seed, architectures, errors per oracle, worst case, shrunk
    counterexample, verdicts); ``training``: train.TrainResult.to_dict() per seed network plus
    ``finals`` (documented vs computed); ``environment``: versions, device, seeds, command.
    """

    schema: str
    summary: Summary
    golden: list[GoldenNetwork]
    gradients: Sequence[Record]
    properties: Record
    training: Sequence[Record]
    environment: Record


# Every verdict word the producing modules use, mapped to a chip colour.
_STATUS: dict[str, Status] = {
    **dict.fromkeys(("match", "ok", "pass", "verified", "agree"), "pass"),
    # a truncated print, an FD step that was the problem, a kink: reported, not failed
    **dict.fromkeys(
        ("match-truncated", "fd-artefact", "precision-limited", "non-differentiable here", "warn"),
        "warn",
    ),
    **dict.fromkeys(
        ("discrepancy", "backprop-bug", "structure", "oracle-disagreement", "unresolved"), "fail"
    ),
    **dict.fromkeys(("fail", "failed", "error", "disagree"), "fail"),
}


def status_of(verdict: object) -> Status:
    """Chip colour of a verdict word; an unknown word is shown as a failure, never hidden."""
    return _STATUS.get(str(verdict).lower(), "fail")


def _count(check: str, section: str, words: Sequence[str], order: Sequence[str]) -> CheckCount:
    """Records per verdict word (every word in ``order`` shown, even at 0)."""
    counts = {w: words.count(w) for w in order} | {w: words.count(w) for w in sorted(set(words))}
    failed = sum(n for w, n in counts.items() if status_of(w) == "fail")
    return CheckCount(check=check, section=section, total=len(words), failed=failed, counts=counts)


def summarize(
    golden: Sequence[GoldenNetwork],
    gradients: Sequence[Record],
    properties: Record,
    training: Sequence[Record],
) -> Summary:
    """Tally the verdicts already in the records. A golden discrepancy is a finding about the
    document, not a failure of the code: it is counted and marked, but fails nothing."""
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
            ["verified" if v["ok"] else "failed" for v in gradients],
            ("verified", "failed"),
        ),
        _count(
            "generated networks",
            "properties",
            ["verified" if n["ok"] else "failed" for n in properties.get("networks", [])],
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
    return Summary(ok=failures == 0, failures=failures, checks=checks)


def network_sketch(spec: Spec) -> NetworkSketch:
    """The diagram's data for a spec: unit and weight names as the document labels them
    (``h1``, ``w5``), falling back to ``layer 2 W[0,1]``-style labels."""
    units = [[f"x{j + 1}" for j in range(spec.sizes[0])]]
    by_unit = {loc: name for name, loc in spec.unit_names.items()}
    for i, n in enumerate(spec.sizes[1:], start=1):
        units.append([by_unit.get((i, j), f"n{i}.{j + 1}") for j in range(n)])
    units[0] = [by_unit.get((0, j), units[0][j]) for j in range(spec.sizes[0])]
    trainable, frozen = spec.initial_params(), spec.frozen_params()
    weights: list[list[list[float]]] = []
    labels: list[list[list[str]]] = []
    biases: list[svg.BiasSketch | None] = []
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
            svg.BiasSketch(
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


def _fmt(value: object, spec: str = ".6g") -> str:
    """Numbers for tables: ``format(value, spec)``; strings (as printed, or "nan") unchanged."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int | float | np.floating | np.integer):
        return format(float(value), spec)
    return str(value)


def _tolerance(value: object) -> str:
    """A tolerance as ``rtol=1e-09 atol=1e-12``, whether it arrives as a mapping or a line."""
    if isinstance(value, Mapping):
        return " ".join(f"{k}={_fmt(v, 'g')}" for k, v in value.items())
    return str(value)


def _le(a: object, b: object) -> bool:
    """``a <= b`` for numbers; False when either is not a finite number (shown as ``>``)."""
    try:
        return float(str(a)) <= float(str(b))
    except ValueError:
        return False


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("gradcheck.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _fmt
    env.filters["sci"] = lambda v: _fmt(v, ".2e")
    env.filters["status"] = status_of
    env.filters["tolerance"] = _tolerance
    env.filters["le"] = _le
    env.filters["tojson_pretty"] = lambda v: json.dumps(to_jsonable(v), indent=2)
    env.globals.update(
        network_diagram=svg.network_diagram,
        loss_plot=svg.loss_plot,
        error_histogram=svg.error_histogram,
    )
    return env


def render_html(data: ReportData) -> str:
    """The whole report as one self-contained HTML page, drawn from exactly what
    ``report.json`` holds (:func:`to_jsonable` of ``data``)."""
    return _environment().get_template("report.html.j2").render(data=to_jsonable(data))


def _temporary_copy(path: Path, text: str) -> Path:
    """``text`` in a new temporary file beside ``path`` (same folder, so renaming is atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a report is for everyone to read
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def make_out_dir(out_dir: str | Path) -> Path:
    """The report folder ``out_dir``, created with its parents if missing: called before the
    report's work, so that a path that cannot be a folder fails at once, naming it."""
    if not str(out_dir).strip():
        raise ReportError("--out '': empty path; give the folder for the report")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(out, exc) from None
    return out


def _write_error(out: Path, exc: OSError) -> ReportError:
    """The one-line error for an OS error while creating or writing the folder ``out``."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return ReportError(f"{out}: --out must be a folder ({exc.strerror})")
    # no permission, name too long, disk full, read-only file system...
    return ReportError(f"{out}: cannot write the report ({exc.strerror or exc})")


def write_report(data: ReportData, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``index.html`` and ``report.json`` into ``out_dir`` (created if missing). Both are
    rendered, then written to temporary files, then renamed over the old ones: a crash at any
    point leaves the previous report (or none), never a partial file."""
    out = make_out_dir(out_dir)
    payload = json.dumps(to_jsonable(data), indent=1, allow_nan=False) + "\n"
    html = render_html(data)
    html_path, json_path = out / "index.html", out / "report.json"
    temporary: list[Path] = []
    try:
        # both files complete on disk before either replaces its old version
        temporary = [_temporary_copy(json_path, payload), _temporary_copy(html_path, html)]
        os.replace(temporary[0], json_path)
        os.replace(temporary[1], html_path)
    except OSError as exc:
        raise _write_error(out, exc) from None
    finally:
        for tmp in temporary:
            tmp.unlink(missing_ok=True)
    return html_path, json_path
