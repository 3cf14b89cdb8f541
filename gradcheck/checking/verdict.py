"""Verdict records: what one verification of one network found, ready to print or serialise.

:class:`GroupCheck` holds one group's comparison as flat arrays with status codes into
:data:`STATUSES` (each described in :data:`STATUS_MEANINGS`); :class:`NetworkVerdict` collects
them, builds :class:`Entry` records on demand and gives ``summary()`` (one line) and
``to_dict()`` (JSON-able); :func:`tally` is the one line for many networks. A verdict fails on
the statuses in :data:`FAILING` and on a ``problem`` with the candidate's whole result; records
compute nothing beyond counts and relative errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import cached_property
from itertools import islice
from typing import Any, Literal

import numpy as np

from gradcheck.checking.statuses import (
    FAILING,
    FAILS,
    STATUS_MEANINGS,
    STATUSES,
    WARNED,
    Status,
)
from gradcheck.spec import Spec

__all__ = [
    "ENTRIES_SHOWN",
    "FAILING",
    "STATUSES",
    "STATUS_MEANINGS",
    "Entry",
    "GroupCheck",
    "NetworkVerdict",
    "Status",
    "Tolerance",
    "tally",
]

ENTRIES_SHOWN = 12  # failing entries printed per network by default


@dataclass(frozen=True)
class Tolerance:
    """``rtol``/``atol`` for candidate vs JAX; FD adds ``fd_safety`` times its error estimate.

    ``atol`` is per unit of the largest gradient: a group's absolute floor is ``atol`` times the
    largest ``|JAX|`` among its entries. The values per dtype live in
    :data:`gradcheck.checking.tolerances.TOLERANCES`; ``eps`` is the machine epsilon of the
    dtype the gradients were computed in (it scales the cancellation term), ``tiny`` its smallest
    normal number (below it a value is underflow, added to the absolute floor)."""

    rtol: float
    atol: float
    fd_safety: float = 4.0
    eps: float = float(np.finfo(np.float64).eps)
    tiny: float = float(np.finfo(np.float64).tiny)

    def describe(self, floors: tuple[float, float] | None = None) -> str:
        """``rtol=1e-09 atol=1e-12 x max|grad| (floor 2.1e-14..5.3e-13) fd=4x estimate``: the
        absolute floors, smallest..largest, where ``floors`` gives them."""
        floor = ""
        if floors is not None:
            lo, hi = floors
            floor = (
                f" (floor {hi:.2g})"
                if f"{lo:.2g}" == f"{hi:.2g}"
                else f" (floor {lo:.2g}..{hi:.2g})"
            )
        atol = f"atol={self.atol:g} x max|grad|{floor}"
        return f"rtol={self.rtol:g} {atol} fd={self.fd_safety:g}x estimate"

    def to_dict(self) -> dict[str, float]:
        return {"rtol": self.rtol, "atol": self.atol, "fd_safety": self.fd_safety}


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
    # at a kink: the finite-difference oracle's bracket of what backprop may give there (any
    # slope between the one-sided ones at the units on their kinks), how far hand lies outside
    # it and how far it may (the kink's test: abs_error_bracket <= tol_bracket; fd, abs_error_fd
    # and tol_fd are the central difference's, which straddles the kink); None elsewhere
    fd_lower: float | None = None
    fd_upper: float | None = None
    abs_error_bracket: float | None = None
    tol_bracket: float | None = None

    @property
    def bracketed(self) -> bool:
        """The entry moves a unit on its kink and finite differences bracket it."""
        return self.fd_lower is not None and self.fd_upper is not None

    @property
    def location(self) -> str:
        """``layer 2 W[1,0]`` (1-based layer), whatever the display name."""
        return _location(self.layer, self.group, self.index, self.kind)

    def describe(self) -> str:
        """``w1 (layer 1 W[0,0]): hand 0.12 vs JAX 0.25, FD 0.25 [backprop-bug]``."""
        name = self.location if self.label == self.location else f"{self.label} ({self.location})"
        if self.status == "structure":
            return (
                f'{name}: [structure] (why: "candidate: layer {self.layer + 1} ..." in the summary)'
            )
        if self.bracketed:  # FD's own value straddles the kink: its bracket is what counts
            fd = f"FD at a kink: between {self.fd_lower:.9g} and {self.fd_upper:.9g}"
        else:
            fd = f"FD {self.fd:.9g} +- {self.fd_error_estimate:.1e}"
        return f"{name}: hand {self.hand:.9g} vs JAX {self.jax:.9g}, {fd} [{self.status}]"

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
    columns: dict[str, np.ndarray]  # hand jax fd fd_error_estimate step tol_jax tol_fd max_grad
    status: np.ndarray  # codes: indices into STATUSES

    def index(self, row: int) -> tuple[int, ...]:
        if self.kind == "direction" or not self.shape:
            return ()
        return tuple(int(k) for k in np.unravel_index(int(self.rows[row]), self.shape))


@dataclass(frozen=True)
class NetworkVerdict:
    """Everything one verification found for one network.

    ``ok``: no ``problem`` (the candidate raised, or returned no list of one dict per layer)
    and no entry with a status in :data:`FAILING`; ``failures``: those entries; ``entries``:
    every compared entry (projection mode: one direction per group plus the entries that
    disagree; a ``structure`` entry stands for a whole group); ``nothing_to_check``: ok with no
    trainable parameter; ``summary()``: one line naming the network, the verdict, the first
    failing entries and the tolerance; ``to_dict()``: JSON-able, for ``--json`` and the report.
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
    problem: str = ""  # with the candidate's whole result, e.g. "candidate raised ... at f.py:3"
    unsupported: str = ""  # why the network was not checked: the candidate or family said so
    spec: Spec | None = field(default=None, repr=False, compare=False)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with every group's rows, statuses and columns packed into one array each, not
        a dozen small ones per group (a worker process sends thousands of verdicts back: about
        half the time, both ways); cached properties are computed again on the other side."""
        others = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "checked"}
        packed = _packed_checks(self.checked)
        if packed is None:
            return (_verdict, (others, self.checked))
        return (_unpacked_verdict, (others, *packed))

    @cached_property
    def counts(self) -> dict[str, int]:
        """Entries per status, every status present (0 where none)."""
        codes = [c.status for c in self.checked]
        found = np.bincount(np.concatenate(codes) if codes else [], minlength=len(STATUSES))
        return {name: int(found[code]) for code, name in enumerate(STATUSES)}

    @property
    def ok(self) -> bool:
        """Not failed: an ``unsupported`` network is not a failure (it is counted apart)."""
        return not self.problem and not any(self.counts[s] for s in FAILING)

    @property
    def nothing_to_check(self) -> bool:
        """Passed only because no group is trainable: every group is frozen."""
        return self.ok and not self.unsupported and self.n_params == 0

    @cached_property
    def unseeing(self) -> int:
        """Entries the check passed but could not have failed on their sign: ``-j`` in place of
        hand would have passed too (the same classification, evidence rule included), on a
        value finite differences resolve as nonzero (``blind``,
        :func:`~gradcheck.checking.compare.classify`'s flipped run). The error model's rounding
        bound for the network (float32 below stacked norms, say) outgrew the gradient there."""
        count = 0
        for c in self.checked:
            blind = c.columns.get("blind")
            if blind is not None:
                count += int(np.sum((blind > 0) & ~FAILS[c.status]))
        return count

    @cached_property
    def unjudged(self) -> int:
        """Entries at a kink the finite differences could not bracket (``-inf`` to ``inf``:
        their units on kinks lie in more layers, more of them, than are tried): passed
        unjudged."""
        count = 0
        for c in self.checked:
            lower = c.columns.get("fd_lower")
            if lower is not None:
                count += int(np.sum(np.isneginf(lower) & ~FAILS[c.status]))
        return count

    @cached_property
    def atol_floors(self) -> tuple[float, float] | None:
        """The smallest and largest absolute floor of the compared groups at this verdict's
        ``atol`` (``atol`` times a group's largest ``|JAX|``, plus ``tiny``); None where nothing
        was compared."""
        found = [c.columns["max_grad"] for c in self.checked if "max_grad" in c.columns]
        largest = np.concatenate(found) if found else np.zeros(0)
        largest = largest[np.isfinite(largest)]
        if not largest.size:
            return None
        atol, tiny = self.tolerance.atol, self.tolerance.tiny
        return atol * float(largest.min()) + tiny, atol * float(largest.max()) + tiny

    @cached_property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._iter_entries(failing_only=False))

    @cached_property
    def failures(self) -> tuple[Entry, ...]:
        return tuple(self._iter_entries(failing_only=True))

    def _iter_entries(self, failing_only: bool) -> Iterator[Entry]:
        for c in self.checked:
            rows = np.flatnonzero(FAILS[c.status]) if failing_only else None
            for r in range(c.status.size) if rows is None else rows:
                yield _entry(self.spec, c, int(r))

    def summary(self, limit: int = 3) -> str:
        """One line: ``name: verified, <n> entries: ...``; ``name: nothing to check, ...``;
        ``name: FAILED: <problem>; <n> of <m> groups unchecked``; or ``name: FAILED <n> of <m>
        groups and <k> of <t> entries`` (a ``structure`` failure is a group, any other an entry)
        and the first ``limit`` failures; then the notes and the tolerance used."""
        if self.unsupported:
            return f"{self.name}: unsupported, not checked: {self.unsupported}"
        if self.nothing_to_check:
            return f"{self.name}: nothing to check, every group is frozen"
        broken, groups = self.counts["structure"], len({(c.layer, c.group) for c in self.checked})
        of_groups = f"{broken} of {groups} group{'' if groups == 1 else 's'}"
        if self.problem:  # the only note
            return f"{self.name}: FAILED: {self.problem}; " + (
                f"{of_groups} unchecked" if groups else "every group is frozen"
            )
        total = sum(self.counts.values()) - broken
        what = "entr" + ("y" if total == 1 else "ies")
        if self.mode == "projection":
            what = f"check{'' if total == 1 else 's'} (projection)"
        tol = f"[{self.dtype} {self.tolerance.describe(self.atol_floors)}]"
        if self.ok:  # "hand = JAX = FD" on every entry, or on those not counted apart
            apart = [f"{n} {s}" for s, n in self.counts.items() if n and s in WARNED]
            ok = self.counts["ok"]
            parts = [f"hand = JAX = FD on {ok}" if apart else "hand = JAX = FD"] if ok else []
            parts += apart
            if self.unjudged:
                parts.append(
                    f"{self.unjudged} of them not judged: units on kinks in more layers than "
                    "their choices of pieces can be tried (verify it with fewer units on kinks)"
                )
            if self.unseeing:
                parts.append(
                    f"{self.unseeing} of them past what the network's rounding bound lets "
                    "a check see (a wrong sign would pass there; check it in float64)"
                )
            return f"{self.name}: verified, {total} {what}: {'; '.join(parts)} {tol}"
        failed = sum(self.counts[s] for s in FAILING) - broken
        counted = [of_groups] if broken else []
        counted += [f"{failed} of {total} {what}"] if failed or not broken else []
        shown = [e.describe() for e in islice(self._iter_entries(True), limit)]
        if failed + broken > len(shown) > 0:
            shown.append(f"and {failed + broken - len(shown)} more")
        n = self.unjudged
        unjudged = [f"{n} entr{'y' if n == 1 else 'ies'} at kinks not judged"] if n else []
        details = "".join(f"; {x}" for x in [*shown, *self.notes, *unjudged])
        return f"{self.name}: FAILED {' and '.join(counted)}{details} {tol}"

    def failure_lines(self, limit: int = ENTRIES_SHOWN, more: str | None = None) -> list[str]:
        """The first ``limit`` failing entries, one ``Entry.describe()`` line each; then, if
        ``more`` is given and some were left out, ``... <how many> more<more>``; none where the
        whole result failed (``problem``: the summary says why)."""
        if self.problem:
            return []
        lines = [e.describe() for e in self.failures[:limit]]
        left = len(self.failures) - len(lines)
        lines += [f"... {left} more{more}"] if more is not None and left > 0 else []
        return lines + ([self.enters] if self.enters else [])

    @cached_property
    def enters(self) -> str:
        """Where the failures say a backprop error enters, or "": every checked layer up to some
        layer ``k`` fails and every one above agrees. A wrong input gradient above ``k`` (or
        ``k``'s activation derivative) fails every layer below it; a layer's own formula fails
        that layer alone, so where ``k`` is the only checked layer below, it is named too, as is
        the backward of a residual block or rnn at ``k`` (its inner steps feed both). Only
        backprop bugs count: a missing group, a narrower dtype or JAX off says nothing of it."""
        wrong = ("backprop-bug", "unresolved")  # not a missing group, a dtype or JAX off
        if self.problem or any(e.status not in wrong for e in self.failures):
            return ""
        failing = {e.layer for e in self.failures}
        layers = sorted({c.layer for c in self.checked if c.status.size})
        if not failing:
            return ""
        top = max(failing)
        below, above = [x for x in layers if x <= top], [x for x in layers if x > top]
        if not above or set(below) != failing:
            return ""
        first = min(above)  # 0-based: layers top + 2 .. first + 1, 1-based, pass gradients down
        through = f"layer {first + 1}'s" if first == top + 1 else f"layers {top + 2}-{first + 1}'"
        look = f"{through} input gradient, layer {top + 1}'s activation derivative"
        kind = self.spec.kinds[top] if self.spec is not None else "dense"
        if kind in ("residual", "rnn"):  # its own backward passes through its inner steps
            look += f", layer {top + 1}'s own backward ({kind})"
        if len(failing) == 1:
            return (
                f"where it enters: only layer {top + 1} fails, every layer above agrees: look at "
                f"{look} and layer {top + 1}'s own gradient"
            )
        return (
            f"where it enters: every layer up to {top + 1} fails, every one above agrees: look "
            f"at {look}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "ok": self.ok,
            "nothing_to_check": self.nothing_to_check,
            "dtype": self.dtype,
            "mode": self.mode,
            "n_params": self.n_params,
            "loss": self.loss if np.isfinite(self.loss) else str(self.loss),
            "tolerance": self.tolerance.to_dict(),
            "atol_floor": None if self.atol_floors is None else list(self.atol_floors),
            "counts": dict(self.counts),
            "unseeing": self.unseeing,
            "unjudged": self.unjudged,
            "summary": self.summary(),
            "notes": list(self.notes),
            "problem": self.problem,
            "unsupported": self.unsupported or None,
            "entries": [e.to_dict() for e in self.entries],
        }


Head = tuple[int, str, Literal["entry", "direction"], tuple[int, ...], int]  # and its row count
Packed = tuple[tuple[Head, ...], tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]


def _packed_checks(checks: tuple[GroupCheck, ...]) -> Packed | None:
    """``(heads, names, rows, status, columns)``: the groups' rows and statuses end to end, their
    columns one ``(names, rows)`` array; None where the groups' columns differ in names, dtype or
    length (each group is pickled by itself then)."""
    names = tuple(checks[0].columns) if checks else ()
    for c in checks:
        if tuple(c.columns) != names or c.rows.ndim != 1 or c.status.shape != c.rows.shape:
            return None
        if any(a.dtype != np.float64 or a.shape != c.rows.shape for a in c.columns.values()):
            return None
    if not checks or not names:
        return None
    heads = tuple((c.layer, c.group, c.kind, c.shape, c.rows.size) for c in checks)
    rows = np.concatenate([c.rows for c in checks])
    status = np.concatenate([c.status for c in checks])
    columns = np.concatenate([np.stack([c.columns[n] for n in names]) for c in checks], axis=1)
    return heads, names, rows, status, columns


def _unpacked_verdict(
    others: dict[str, Any],
    heads: tuple[Head, ...],
    names: tuple[str, ...],
    rows: np.ndarray,
    status: np.ndarray,
    columns: np.ndarray,
) -> NetworkVerdict:
    """A :class:`NetworkVerdict` from its packed pickled form (:meth:`NetworkVerdict.__reduce__`):
    each group's arrays are views into the packed ones."""
    checks, lo = [], 0
    for layer, group, kind, shape, size in heads:
        part = slice(lo, lo + size)
        lo += size
        own = dict(zip(names, columns[:, part], strict=True))
        checks.append(GroupCheck(layer, group, kind, shape, rows[part], own, status[part]))
    return _verdict(others, tuple(checks))


def _verdict(others: dict[str, Any], checked: tuple[GroupCheck, ...]) -> NetworkVerdict:
    return NetworkVerdict(**others, checked=checked)


def tally(verdicts: Iterable[NetworkVerdict]) -> str:
    """``9 of 12 networks verified, 1 with nothing to check, 1 unsupported, 1 FAILED``: the
    networks with nothing to check (every group frozen) and the unsupported ones (not checked)
    are counted apart, neither verified nor failed."""
    found = list(verdicts)
    empty, failed = sum(v.nothing_to_check for v in found), sum(not v.ok for v in found)
    skipped = sum(bool(v.unsupported) for v in found)
    line = f"{len(found) - empty - skipped - failed} of {len(found)} networks verified"
    line += f", {empty} with nothing to check" if empty else ""
    line += f", {skipped} unsupported" if skipped else ""
    return line + (f", {failed} FAILED" if failed else "")


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
        fd_lower=_at_kink(v, "fd_lower"),
        fd_upper=_at_kink(v, "fd_upper"),
        abs_error_bracket=_at_kink(v, "abs_error_bracket"),
        tol_bracket=_at_kink(v, "tol_bracket"),
    )


def _at_kink(values: dict[str, float], column: str) -> float | None:
    """A kink's bracket column; None off kinks (the column holds NaN there, or is absent)."""
    value = values.get(column, np.nan)
    return None if np.isnan(value) else value


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
