"""Layer verdict records: what checking a course-style ``forward``/``backward`` pair found.

Each case gets three checks (:data:`CHECKS`): the user's forward against the JAX reference
forward, the user's backward against JAX's vector-Jacobian product for a random ``dout``, and
the user's backward against finite differences of the user's *own* forward. Together they tell
the failures apart (:func:`diagnose`): a forward that differs from the reference with a backward
that matches it is ``forward wrong (backward matches your forward)``; a forward that matches with
a backward that does not is ``backward wrong``. A :class:`LayerVerdict` holds the minimal failing
case (shrunk by Hypothesis) with the line that replays it; records are built once and compute
nothing but their text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradcheck.checking.verdict import Tolerance

__all__ = [
    "BACKWARD_WRONG",
    "BOTH_WRONG",
    "CHECKS",
    "FORWARD_WRONG",
    "PASSED",
    "LayerCaseResult",
    "LayerCheck",
    "LayerVerdict",
    "Tally",
    "case_text",
    "count_text",
    "diagnose",
]

CHECKS = ("forward vs reference", "backward vs JAX vjp", "backward vs FD of your forward")
PASSED = "ok"
FORWARD_WRONG = "forward wrong (backward matches your forward)"
BACKWARD_WRONG = "backward wrong"
BOTH_WRONG = "forward and backward wrong"


@dataclass(frozen=True)
class Tally:
    """What a check counted for one array (``dx``): ``failing`` of its ``checked`` entries lie
    outside the tolerance; or, with ``direction``, whether it (or ``dx, dw, db`` together)
    agreed along one random direction (``checked`` is then 1)."""

    array: str
    failing: int
    checked: int
    direction: bool = False


def count_text(tallies: tuple[Tally, ...]) -> str:
    """``2 of 4 entries differ (dx 2 of 2, dgamma 0 of 1, dbeta 0 of 1)``, ``0 of 2 entries of
    out differ``, ``agrees along a random direction through dx, dw, db``: the counts, in words."""
    entries = [t for t in tallies if not t.direction]
    parts = []
    if entries:
        failing, checked = sum(t.failing for t in entries), sum(t.checked for t in entries)
        noun = "entry" if checked == 1 else "entries"
        verb = "differs" if 1 in (failing, checked) else "differ"
        if len(entries) == 1:
            parts.append(f"{failing} of {checked} {noun} of {entries[0].array} {verb}")
        else:
            each = ", ".join(f"{t.array} {t.failing} of {t.checked}" for t in entries)
            parts.append(f"{failing} of {checked} {noun} {verb} ({each})")
    parts += [
        f"{'differs' if t.failing else 'agrees'} along a random direction through {t.array}"
        for t in tallies
        if t.direction
    ]
    return "; ".join(parts)


@dataclass(frozen=True)
class LayerCheck:
    """One check of one case: ``where`` names the entry shown (``dx[1,0,2,3]``, ``out[0,2]``:
    the worst, or for the FD check the one the JAX check named where FD disagrees there too) or
    direction (``<dw, v>``), ``got`` the user's value there, ``expected`` the oracle's,
    ``allowed`` the largest difference the tolerance allows; ``tallies`` count, per array, the
    entries (or directions) outside it; ``note`` says why ``where`` differs from the JAX check's,
    or that the backward returned a narrower dtype than the layer's."""

    check: str
    ok: bool
    where: str
    got: float
    expected: float
    allowed: float
    tallies: tuple[Tally, ...]
    note: str = ""

    @property
    def failing(self) -> int:
        """Entries (or directions) outside the tolerance, over every array."""
        return sum(t.failing for t in self.tallies)

    def describe(self) -> str:
        """``backward vs JAX vjp: FAIL dw[0,1]: yours 0.5, JAX 0.25 (allowed 1e-09); 3 of 12
        entries of dw differ``."""
        if self.ok:
            return f"{self.check}: ok; {count_text(self.tallies)}"
        oracle = {"forward vs reference": "reference", "backward vs JAX vjp": "JAX"}.get(
            self.check, "FD"
        )
        note = f" ({self.note})" if self.note else ""
        return (
            f"{self.check}: FAIL {self.where}{note}: yours {self.got:.9g}, {oracle} "
            f"{self.expected:.9g} (allowed {self.allowed:.2g}); {count_text(self.tallies)}"
        )

    def to_dict(self) -> dict[str, Any]:
        found = {
            k: (str(v) if isinstance(v, float) and v != v else v)
            for k, v in vars(self).items()
            if k != "tallies"
        }
        return {
            **found,
            "tallies": [vars(t) for t in self.tallies],
            "counts": count_text(self.tallies),
        }


@dataclass(frozen=True)
class LayerCaseResult:
    """One case checked: its checks (those that ran), or the ``problem`` that stopped them (a
    forward or backward that raised or returned the wrong thing, one line), and the diagnosis."""

    checks: tuple[LayerCheck, ...]
    problem: str
    diagnosis: str

    @property
    def ok(self) -> bool:
        return not self.problem and all(c.ok for c in self.checks)


def diagnose(forward_ok: bool, vjp_ok: bool, fd_ok: bool) -> str:
    """Which side is wrong: the forward against the reference, the backward against the JAX
    vjp and against finite differences of the user's own forward."""
    if not forward_ok:
        return FORWARD_WRONG if fd_ok else BOTH_WRONG
    return PASSED if vjp_ok and fd_ok else BACKWARD_WRONG


def case_text(case: dict[str, Any]) -> str:
    """``N=1 C=1 H=3 ...``: a case's knobs, as ``--option`` takes them."""
    return " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in case.items())


@dataclass(frozen=True)
class LayerVerdict:
    """``verify_layer``'s answer for one kind: passed over ``examples`` drawn cases, or the
    minimal failing ``case`` (its knobs) with its ``result`` and the lines that replay it."""

    kind: str
    forward: str
    backward: str
    dtype: str
    seed: int
    examples: int
    tolerance: Tolerance
    case: dict[str, Any] | None
    result: LayerCaseResult | None
    replay: str | None  # a Python call
    command: str | None  # a shell command (None: the functions have no importable name)

    @property
    def ok(self) -> bool:
        return self.result is None or self.result.ok

    @property
    def diagnosis(self) -> str:
        return PASSED if self.result is None else self.result.diagnosis

    def summary(self) -> str:
        """One line: PASS or FAIL, the kind, the diagnosis, where."""
        head = f"{self.kind} ({self.forward} / {self.backward}, {self.dtype})"
        if self.ok:
            cases = f"{self.examples} case{'s' if self.examples != 1 else ''}"
            return f"PASS {head}: {cases}, {', '.join(CHECKS)} agree"
        assert self.result is not None and self.case is not None
        failed = [c for c in self.result.checks if not c.ok]
        where = self.result.problem or f"{failed[0].check} at {failed[0].where}"
        return f"FAIL {head}: {self.diagnosis}: {where}; minimal case {case_text(self.case)}"

    def failure_lines(self) -> list[str]:
        """The checks of the minimal failing case, the tolerance, and how to replay it."""
        if self.ok or self.result is None:
            return []
        lines = [c.describe() for c in self.result.checks]
        lines.append(f"tolerance: {self.tolerance.describe()}")
        lines.append(f"replay: {self.replay}")
        if self.command:
            lines.append(f"replay: {self.command}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        result = self.result
        return {
            "kind": self.kind,
            "forward": self.forward,
            "backward": self.backward,
            "dtype": self.dtype,
            "seed": self.seed,
            "examples": self.examples,
            "ok": self.ok,
            "diagnosis": self.diagnosis,
            "problem": result.problem if result else "",
            "case": self.case,
            "checks": [c.to_dict() for c in result.checks] if result else [],
            "tolerance": self.tolerance.to_dict(),
            "replay": self.replay,
            "command": self.command,
        }
