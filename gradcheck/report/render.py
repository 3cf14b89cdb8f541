"""The report: result records in, one self-contained HTML page and its JSON twin out.

Render, don't compute: every number shown arrives in a
:class:`~gradcheck.report.data.ReportData` dict (the exact content of ``report.json``) that
:mod:`gradcheck.report.run` collects from golden, verify, strategies and train; this module only
formats and draws. The page has no external scripts, fonts, styles or images; Jinja2
autoescapes every value, so a network named ``<script>`` shows as text. Both files are written
to a temporary file in the output folder and renamed, so a crash never leaves half a report.
Before them, each failing generated network's spec is saved in the folder's ``failures/`` (see
:mod:`gradcheck.checking.replays`), and its record gains the file and the command that
reproduces the failure.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from gradcheck.checking.replays import save_replay
from gradcheck.report import svg
from gradcheck.report.data import (
    ReportData,
    ReportError,
    network_word,
    status_of,
    to_jsonable,
)

__all__ = ["FAILURES", "make_out_dir", "render_html", "write_report"]

FAILURES = "failures"  # the report folder's subfolder for failing generated networks' specs


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


# A number in scientific notation: a browser may break a line after its exponent's minus sign
# (``6.06e-`` / ``06``), so in running text each is kept whole (:func:`_unbroken`).
# A range ``4.7e-13..7.1e-13`` holds two; a dot joined to a word (``v1.2e3``) makes none.
_SCIENTIFIC = re.compile(r"(?<![\w-])(?<![^.]\.)-?\d+(?:\.\d+)?e[-+]?\d+(?!\w)(?!\.\w)")


def _unbroken(text: object) -> Markup:
    """``text`` (escaped unless it is markup already) with every number in scientific notation
    in a ``nowrap`` span, so that no line ends inside one."""
    return Markup(_SCIENTIFIC.sub(r'<span class="nw">\g<0></span>', str(escape(text))))


def _is_zero(value: object) -> bool:
    """Whether a record's value (a number, or ``"nan"``/``"inf"`` as report.json spells them)
    is exactly 0."""
    try:
        return float(str(value)) == 0.0
    except ValueError:
        return False


def _relative(value: object, reference: object, oracle: str) -> str:
    """A relative error for a table cell; against an oracle's exact 0 (``reference``) there is
    none (the record says ``inf``), and the cell says why: ``JAX = 0``."""
    return f"{oracle} = 0" if _is_zero(reference) and value != 0 else _fmt(value, ".2e")


def _cause(record: Mapping[str, Any]) -> Markup:
    """A golden record's cause with its finding in bold, once: a cause that names its finding in
    its first two words (``typo: a digit is dropped``, ``arithmetic slip: ...``, ``copied from
    ...``) has those words bolded, any other is led by the finding (``rule: follows from ...``)."""
    finding, cause = str(record.get("finding") or ""), str(record.get("cause") or "")
    words = cause.split(" ")
    named = [k for k, w in enumerate(words[:2]) if w.strip(":;,.").lower() == finding.lower()]
    if not finding:
        return escape(cause)
    if not named:
        return Markup("<b>{}</b>: {}").format(finding, cause)
    head = " ".join(words[: named[0] + 1])
    bare = head.rstrip(":;,.")
    return Markup("<b>{}</b>{}").format(bare, head[len(bare) :] + cause[len(head) :])


def _worst_values(worst: Mapping[str, Any]) -> str:
    """The worst case's values in words: its relative error, or, against an oracle's exact 0
    (no relative error), the value the gradient under test gives there."""
    hand, oracle = _fmt(worst["value"], ".9g"), str(worst["oracle"])
    if _is_zero(worst["oracle_value"]) and not _is_zero(worst["value"]):
        return f"hand {hand} where {oracle} gives exactly 0"
    value, error = _fmt(worst["oracle_value"], ".9g"), _fmt(worst["error"], ".2e")
    return f"hand {hand} vs {oracle} {value} (relative error {error})"


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
    env.filters["network_word"] = network_word
    env.filters["tolerance"] = _tolerance
    env.filters["le"] = _le
    env.filters["relative"] = _relative
    env.filters["unbroken"] = _unbroken
    env.filters["cause"] = _cause
    env.filters["worst_values"] = _worst_values
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


def _save_replays(data: ReportData, out: Path) -> ReportData:
    """:func:`_saved_replays`, leaving no empty ``failures/`` behind where it was interrupted."""
    folder = out / FAILURES
    existed = folder.is_dir()
    try:
        return _saved_replays(data, out)
    except BaseException:
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _saved_replays(data: ReportData, out: Path) -> ReportData:
    """Each generated network that carries its ``replay`` (it failed) saved as
    ``out/failures/<name>-seed<S>-case<I>.toml``, and the shrunk counterexample as
    ``<name>-seed<S>-shrunk.toml``; each record gains ``replay_path`` and ``reproduce``, the
    command that checks it again. Saved specs of an earlier report there that
    this one does not have are removed, so the folder holds this report's failures only."""
    properties, folder = data["properties"], out / FAILURES
    earlier = set(folder.glob("*-seed*-case*.toml")) if folder.is_dir() else set()
    earlier |= set(folder.glob("*-seed*-shrunk.toml")) if folder.is_dir() else set()
    options = [str(o) for o in properties.get("reproduce_options", ["--examples", "0"])]
    rows = []
    for row in properties.get("networks", []):
        if "replay" in row:
            saved = save_replay(
                row["replay"], folder, properties["seed"], row["index"], options, row["name"]
            )
            earlier.discard(saved.path)
            row = {**row, "replay_path": str(saved.path), "reproduce": saved.command}
        rows.append(row)
    shrunk = properties.get("counterexample")
    if shrunk and shrunk.get("shrunk"):  # the sample's smallest failure is saved above already
        name = str(shrunk["summary"]).partition(":")[0]
        saved = save_replay(shrunk["replay"], folder, properties["seed"], None, options, name)
        earlier.discard(saved.path)
        shrunk = {**shrunk, "replay_path": str(saved.path), "reproduce": saved.command}
    for stale in earlier:
        stale.unlink(missing_ok=True)
    result = data.copy()
    result["properties"] = {**properties, "networks": rows, "counterexample": shrunk}
    return result


def write_report(data: ReportData, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``index.html`` and ``report.json`` into ``out_dir`` (created if missing), after the
    failing generated networks' specs (:func:`_save_replays`). Both are rendered, then written
    to temporary files, then renamed over the old ones: a crash at any point leaves the previous
    report (or none), never a partial file."""
    out = make_out_dir(out_dir)
    data = _save_replays(data, out)
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
