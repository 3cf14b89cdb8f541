"""Compare a candidate gradient with both oracles and classify every disagreement.

Per scalar entry with candidate ``h``, JAX ``j`` and finite difference ``f`` (error estimate
``e``), the dtype's tolerance ``(rtol, atol, s)`` from :data:`TOLERANCES` and, for float32, the
measured rounding ``p`` of that dtype (:func:`precision_allowance`):

* hand and JAX agree when ``|h - j| <= atol + rtol * max(|j|, floor) + p``;
* hand and FD agree when ``|h - f| <= s * e + atol + rtol * max(|f|, floor) + p``;

``floor = 1e-4 * max |j|`` over the entry's group allows for cancellation in the sums that
make a small entry. The pattern names the failure: hand != JAX while JAX == FD is a
``backprop-bug``; hand == JAX != FD an ``fd-artefact``; hand != JAX with both inside the FD
error ``precision-limited``; an entry whose FD stencil crosses a relu kink is
``non-differentiable here``. Those three are reported, not failed.

:func:`gradcheck.verify.verify` runs the candidate and both oracles and builds a
:class:`NetworkVerdict` from these comparisons.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import Any, Literal, get_args

import numpy as np

from gradcheck import oracles
from gradcheck.spec import Array, GradcheckError, Params, Spec

__all__ = [
    "FAILING",
    "PRECISION_FACTOR",
    "PROJECTION_THRESHOLD",
    "STATUSES",
    "TOLERANCES",
    "Entry",
    "GroupCheck",
    "NetworkVerdict",
    "Status",
    "Tolerance",
    "classify",
    "compare_direction",
    "compare_entries",
    "compare_group",
    "precision_allowance",
    "structure_check",
    "tolerance_for",
]

Status = Literal[
    "ok",
    "backprop-bug",
    "fd-artefact",
    "precision-limited",
    "non-differentiable here",
    "structure",
    "oracle-disagreement",
    "unresolved",
]
STATUSES: tuple[Status, ...] = get_args(Status)
# A verdict fails on these; the other statuses but "ok" are reported, not failed.
FAILING: frozenset[str] = frozenset(
    {"backprop-bug", "structure", "oracle-disagreement", "unresolved"}
)
PROJECTION_THRESHOLD = 1000  # parameters; above it, FD checks random directions per group
ESCALATION_LIMIT = 64  # per-entry finite differences per failing group, worst entries first
PRECISION_FACTOR = 8.0  # room for the candidate rounding differently from JAX in its dtype
_GROUP_FLOOR = 1e-4
_WARNED = ("fd-artefact", "precision-limited", "non-differentiable here")
_CODE = {name: code for code, name in enumerate(STATUSES)}
_FAILING_CODES = [_CODE[s] for s in STATUSES if s in FAILING]


@dataclass(frozen=True)
class Tolerance:
    """``rtol``/``atol`` for candidate vs JAX; FD adds ``fd_safety`` times its error estimate."""

    rtol: float
    atol: float
    fd_safety: float = 4.0

    def describe(self) -> str:
        return f"rtol={self.rtol:g} atol={self.atol:g} fd={self.fd_safety:g}x estimate"

    def to_dict(self) -> dict[str, float]:
        return {"rtol": self.rtol, "atol": self.atol, "fd_safety": self.fd_safety}


# Keyed by dtype name, like jax._src.public_test_util; assign a new Tolerance to override.
TOLERANCES: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-9, atol=1e-12),
    "float32": Tolerance(rtol=1e-4, atol=1e-6),
}


def tolerance_for(dtype: str, rtol: float | None = None, atol: float | None = None) -> Tolerance:
    """The table's tolerance for ``dtype`` with ``rtol``/``atol`` overridden where given."""
    if dtype not in TOLERANCES:
        raise GradcheckError(
            f"TOLERANCES: no entry for dtype {dtype!r} (have {sorted(TOLERANCES)})"
        )
    base = TOLERANCES[dtype]
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and not (np.isfinite(value) and value >= 0):
            raise GradcheckError(f"{name}: expected a finite number >= 0, got {value!r}")
    return Tolerance(
        base.rtol if rtol is None else float(rtol),
        base.atol if atol is None else float(atol),
        base.fd_safety,
    )


@dataclass(frozen=True)
class Entry:
    """One compared scalar: a parameter entry, or one random direction through a whole group.

    ``layer`` is the 0-based index into params (``label`` shows it 1-based, ``layer 2 W[1,0]``,
    or the display name, ``w7``); ``kind`` is ``"entry"`` or ``"direction"`` (``index == ()``,
    values are ``<grad, v>``). Errors are absolute and relative to the oracle's value;
    ``tol_jax``/``tol_fd`` are the largest absolute differences allowed.
    """

    label: str
    layer: int
    group: str
    index: tuple[int, ...]
    kind: Literal["entry", "direction"]
    hand: float
    jax: float
    fd: float
    fd_error_estimate: float
    step: float
    abs_error_jax: float
    rel_error_jax: float
    abs_error_fd: float
    rel_error_fd: float
    tol_jax: float
    tol_fd: float
    status: Status

    @property
    def location(self) -> str:
        """``layer 2 W[1,0]`` (1-based layer), whatever the display name."""
        return _location(self.layer, self.group, self.index, self.kind)

    def describe(self) -> str:
        """``w1 (layer 1 W[0,0]): hand 0.12 vs JAX 0.25, FD 0.25 [backprop-bug]``."""
        name = self.location if self.label == self.location else f"{self.label} ({self.location})"
        if self.status == "structure":
            return f"{name}: [structure] (see the notes)"
        return (
            f"{name}: hand {self.hand:.9g} vs JAX {self.jax:.9g}, FD {self.fd:.9g} "
            f"+- {self.fd_error_estimate:.1e} [{self.status}]"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"``."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, float) and not np.isfinite(value):
                value = str(value)
            out[key] = list(value) if key == "index" else value
        out["location"] = self.location
        return out


@dataclass(frozen=True)
class GroupCheck:
    """One group's comparison as flat arrays; :class:`Entry` objects are built only on demand,
    so checking many small networks stays cheap."""

    layer: int
    group: str
    kind: Literal["entry", "direction"]
    shape: tuple[int, ...]  # the group's shape; rows are flat indices into it
    rows: np.ndarray
    columns: dict[str, np.ndarray]  # hand, jax, fd, fd_error_estimate, step, tol_jax, tol_fd
    status: np.ndarray  # codes: indices into STATUSES

    def index(self, row: int) -> tuple[int, ...]:
        if self.kind == "direction" or not self.shape:
            return ()
        return tuple(int(k) for k in np.unravel_index(int(self.rows[row]), self.shape))


@dataclass(frozen=True)
class NetworkVerdict:
    """Everything one verification found for one network.

    ``ok``: no entry has a status in :data:`FAILING`; ``failures``: those entries; ``entries``:
    every compared entry (projection mode: one direction per group plus the entries that
    disagree); ``summary()``: one line naming the network, the verdict, the first failing
    entries and the tolerance; ``to_dict()``: JSON-able, for ``--json`` and the report.
    """

    name: str
    path: str
    dtype: str
    mode: Literal["entries", "projection"]
    n_params: int
    loss: float
    tolerance: Tolerance
    checked: tuple[GroupCheck, ...] = field(repr=False)
    notes: tuple[str, ...] = ()
    spec: Spec | None = field(default=None, repr=False, compare=False)

    @cached_property
    def counts(self) -> dict[str, int]:
        """Entries per status, every status present (0 where none)."""
        codes = [c.status for c in self.checked]
        found = np.bincount(np.concatenate(codes) if codes else [], minlength=len(STATUSES))
        return {name: int(found[code]) for code, name in enumerate(STATUSES)}

    @property
    def ok(self) -> bool:
        return not any(self.counts[s] for s in FAILING)

    @cached_property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._iter_entries(failing_only=False))

    @cached_property
    def failures(self) -> tuple[Entry, ...]:
        return tuple(self._iter_entries(failing_only=True))

    def _iter_entries(self, failing_only: bool) -> Iterator[Entry]:
        for c in self.checked:
            rows = np.flatnonzero(np.isin(c.status, _FAILING_CODES)) if failing_only else None
            for r in range(c.status.size) if rows is None else rows:
                yield _entry(self.spec, c, int(r))

    def summary(self, limit: int = 3) -> str:
        """One line: ``name: verified, ...`` or ``name: FAILED n of m entries: <the first
        ``limit`` failures>``, then the notes and the tolerance used."""
        total = sum(self.counts.values())
        what = "entr" + ("y" if total == 1 else "ies")
        if self.mode == "projection":
            what = f"check{'' if total == 1 else 's'} (projection)"
        warned = [f"{n} {s}" for s, n in self.counts.items() if n and s in _WARNED]
        tol = f"[{self.dtype} {self.tolerance.describe()}]"
        if self.ok:
            extra = "".join(f"; {w}" for w in warned)
            return f"{self.name}: verified, {total} {what}: hand = JAX = FD{extra} {tol}"
        failed = sum(self.counts[s] for s in FAILING)
        shown = [e.describe() for e in islice(self._iter_entries(True), limit)]
        if failed > len(shown) > 0:
            shown.append(f"and {failed - len(shown)} more")
        details = "".join(f"; {x}" for x in [*shown, *self.notes])
        return f"{self.name}: FAILED {failed} of {total} {what}{details} {tol}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "ok": self.ok,
            "dtype": self.dtype,
            "mode": self.mode,
            "n_params": self.n_params,
            "loss": self.loss if np.isfinite(self.loss) else str(self.loss),
            "tolerance": self.tolerance.to_dict(),
            "counts": dict(self.counts),
            "summary": self.summary(),
            "notes": list(self.notes),
            "entries": [e.to_dict() for e in self.entries],
        }


def _entry(spec: Spec | None, c: GroupCheck, row: int) -> Entry:
    v = {k: float(a[row]) for k, a in c.columns.items()}
    index = c.index(row)
    label = _location(c.layer, c.group, index, c.kind)
    if spec is not None and c.kind == "entry":
        label = spec.label(c.layer, c.group, index)
    err_j, err_f = abs(v["hand"] - v["jax"]), abs(v["hand"] - v["fd"])
    return Entry(
        label=label,
        layer=c.layer,
        group=c.group,
        index=index,
        kind=c.kind,
        hand=v["hand"],
        jax=v["jax"],
        fd=v["fd"],
        fd_error_estimate=v["fd_error_estimate"],
        step=v["step"],
        abs_error_jax=err_j,
        rel_error_jax=_relative(err_j, v["jax"]),
        abs_error_fd=err_f,
        rel_error_fd=_relative(err_f, v["fd"]),
        tol_jax=v["tol_jax"],
        tol_fd=v["tol_fd"],
        status=STATUSES[int(c.status[row])],
    )


def _relative(error: float, reference: float) -> float:
    """``error / |reference|``; 0 for no error, inf for an error against an exact 0."""
    if reference:
        return error / abs(reference)
    return float(error * np.inf) if error else 0.0  # NaN stays NaN


def _location(layer: int, group: str, index: tuple[int, ...], kind: str) -> str:
    where = f"layer {layer + 1} {group}"
    if kind == "direction":
        return f"{where} (random direction)"
    return f"{where}[{','.join(map(str, index))}]" if index else where


# -- classification ------------------------------------------------------------------------
def classify(
    hand: np.ndarray,
    jax: np.ndarray,
    fd: np.ndarray,
    fd_error: np.ndarray,
    kink: np.ndarray,
    at_kink: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status codes and the allowed ``|h - j|``, ``|h - f|`` per entry (see the module doc).

    ``precision`` is the measured rounding error of the spec's dtype (JAX in that dtype against
    JAX in float64), added to both tolerances. A kink-crossing entry is ``non-differentiable
    here`` when hand agrees with JAX or the point sits on the kink; elsewhere JAX is exact and
    convicts it. Hand != JAX with both inside the FD error is ``precision-limited``: the
    difference is below what the independent oracle can resolve.
    """
    tol_jax = tolerance.atol + tolerance.rtol * np.maximum(np.abs(jax), floor) + precision
    tol_fd = (
        tolerance.fd_safety * fd_error
        + tolerance.atol
        + tolerance.rtol * np.maximum(np.abs(fd), floor)
        + precision
    )
    with np.errstate(invalid="ignore"):
        hj = np.abs(hand - jax) <= tol_jax
        hf = np.abs(hand - fd) <= tol_fd
        jf = np.abs(jax - fd) <= tol_fd
    status = np.select(
        [kink & (hj | at_kink), kink, hj & hf, hj, jf & hf, jf, hf],
        [
            _CODE["non-differentiable here"],
            _CODE["backprop-bug"],
            _CODE["ok"],
            _CODE["fd-artefact"],
            _CODE["precision-limited"],
            _CODE["backprop-bug"],
            _CODE["oracle-disagreement"],
        ],
        default=_CODE["unresolved"],
    )
    return status, tol_jax, tol_fd


def precision_allowance(jax: Array, jax64: Array) -> Array:
    """``8 (|d_k| + rms d)`` with ``d = jax - jax64``: the spec dtype's measured rounding error
    per entry, with room for the candidate rounding differently (0 for float64 specs)."""
    d = np.abs(np.asarray(jax, dtype=np.float64) - np.asarray(jax64, dtype=np.float64))
    allowance: Array = PRECISION_FACTOR * (d + np.sqrt(np.mean(d * d)) if d.size else d)
    return allowance


def compare_group(
    layer: int,
    group: str,
    hand: Array,
    jax: Array,
    fd: oracles.FDResult,
    tolerance: Tolerance,
    rows: np.ndarray | None = None,
    precision: Array | None = None,
) -> GroupCheck:
    """Compare one group entry by entry (all entries, or the flat indices ``rows``)."""
    j_all = np.asarray(jax, dtype=np.float64).reshape(-1)
    rows = np.arange(j_all.size) if rows is None else rows
    floor = _GROUP_FLOOR * float(np.max(np.abs(j_all), initial=0.0))
    col = {"hand": np.asarray(hand, dtype=np.float64).reshape(-1)[rows], "jax": j_all[rows]}
    for name, values in (("fd", fd.values), ("fd_error_estimate", fd.errors), ("step", fd.steps)):
        col[name] = values[layer][group].reshape(-1)[rows]
    kink, at_kink = (f[layer][group].reshape(-1)[rows] for f in (fd.kinks, fd.at_kink))
    allowed = 0.0 if precision is None else np.reshape(precision, -1)[rows]
    status, col["tol_jax"], col["tol_fd"] = classify(
        col["hand"],
        col["jax"],
        col["fd"],
        col["fd_error_estimate"],
        kink,
        at_kink,
        tolerance,
        floor,
        allowed,
    )
    return GroupCheck(layer, group, "entry", np.shape(jax), rows, col, status)


def compare_entries(
    hand: Params,
    jax: Params,
    fd: oracles.FDResult,
    tolerance: Tolerance,
    precision: list[dict[str, Array | None]],
    skip: set[tuple[int, str]],
) -> list[GroupCheck]:
    """:func:`compare_group` for every group but ``skip``, classified in one vectorised call."""
    groups = [(i, g) for i, layer in enumerate(jax) for g in layer if (i, g) not in skip]
    if not groups:
        return []
    flat = {
        name: [np.asarray(source[i][g], dtype=np.float64).reshape(-1) for i, g in groups]
        for name, source in (
            ("hand", hand),
            ("jax", jax),
            ("fd", fd.values),
            ("fd_error_estimate", fd.errors),
            ("step", fd.steps),
            ("kink", fd.kinks),
            ("at_kink", fd.at_kink),
        )
    }
    sizes = [a.size for a in flat["jax"]]
    floor = np.repeat([_GROUP_FLOOR * np.max(np.abs(a), initial=0.0) for a in flat["jax"]], sizes)
    allowed: list[np.ndarray] = []
    for (i, g), n in zip(groups, sizes, strict=True):
        measured = precision[i][g]
        allowed.append(np.zeros(n) if measured is None else np.reshape(measured, -1))
    col = {name: np.concatenate(parts) for name, parts in flat.items()}
    kink, at_kink = col.pop("kink").astype(bool), col.pop("at_kink").astype(bool)
    status, col["tol_jax"], col["tol_fd"] = classify(
        col["hand"],
        col["jax"],
        col["fd"],
        col["fd_error_estimate"],
        kink,
        at_kink,
        tolerance,
        floor,
        np.concatenate(allowed),
    )
    checks = []
    bounds = np.cumsum([0, *sizes])
    for (i, g), lo, hi in zip(groups, bounds[:-1], bounds[1:], strict=True):
        part = {name: a[lo:hi] for name, a in col.items()}
        rows = np.arange(hi - lo)
        checks.append(GroupCheck(i, g, "entry", np.shape(jax[i][g]), rows, part, status[lo:hi]))
    return checks


def compare_direction(
    layer: int,
    group: str,
    hand: Array,
    jax: Array,
    fd: oracles.DirectionalResult,
    tolerance: Tolerance,
    precision: Array | None = None,
) -> GroupCheck:
    """Compare ``<hand, v>`` and ``<jax, v>`` with the FD derivative along ``v``; the rounding
    scale of a dot product is ``sum |jax_k v_k|``."""
    v = fd.directions[layer][group]
    jv = np.asarray(jax, dtype=np.float64) * v
    col = {
        "hand": np.array([np.sum(np.asarray(hand, dtype=np.float64) * v)]),
        "jax": np.array([np.sum(jv)]),
        "fd": np.array([fd.values[layer][group]]),
        "fd_error_estimate": np.array([fd.errors[layer][group]]),
        "step": np.array([fd.steps[layer][group]]),
    }
    kink = np.array([fd.kinks[layer][group]])
    allowed = 0.0 if precision is None else float(np.sum(np.abs(v) * precision))
    status, col["tol_jax"], col["tol_fd"] = classify(
        col["hand"],
        col["jax"],
        col["fd"],
        col["fd_error_estimate"],
        kink,
        np.zeros(1, bool),
        tolerance,
        float(np.sum(np.abs(jv))),
        allowed,
    )
    return GroupCheck(layer, group, "direction", np.shape(jv), np.zeros(1, int), col, status)


def structure_check(layer: int, group: str) -> GroupCheck:
    """A group the candidate returned missing, misshapen or not numeric: one failing entry."""
    col = {k: np.full(1, np.nan) for k in ("hand", "jax", "fd", "fd_error_estimate", "step")}
    col |= {"tol_jax": np.full(1, np.nan), "tol_fd": np.full(1, np.nan)}
    code = np.array([_CODE["structure"]])
    return GroupCheck(layer, group, "entry", (), np.zeros(1, int), col, code)
