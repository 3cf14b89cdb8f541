"""Verify a gradient function against both oracles: the entry point users and the CLI call.

``verify(candidate, spec)`` runs ``candidate(spec, params, inputs, targets)``, the JAX oracle and
finite differences on one network and returns a :class:`~gradcheck.checking.compare.NetworkVerdict`.
Up to :data:`~gradcheck.checking.compare.PROJECTION_THRESHOLD` parameters every entry is compared
with both oracles. Above it every entry is still compared with JAX (one backward pass), but finite
differences run along one random direction per group (four forward passes each); a group whose
entries disagree with JAX gets per-entry finite differences for its worst entries only.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gradcheck import oracles
from gradcheck.checking.compare import (
    ESCALATION_LIMIT,
    PROJECTION_THRESHOLD,
    STATUSES,
    GroupCheck,
    NetworkVerdict,
    Tolerance,
    compare_direction,
    compare_entries,
    compare_group,
    group_floor,
    jax_tolerance,
    precision_allowance,
    structure_check,
    tolerance_for,
)
from gradcheck.spec import Array, GradcheckError, GradientFn, Params, Spec

__all__ = ["CandidateError", "load_candidate", "verify", "write_junit_xml"]

_MODES = ("auto", "entries", "projection")


class CandidateError(GradcheckError, ValueError):
    """A candidate gradient function could not be loaded (``--candidate module:function``)."""


def verify(
    candidate: GradientFn,
    spec: Spec,
    params: Params | None = None,
    inputs: Array | None = None,
    targets: Array | None = None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    mode: str = "auto",
    fd_rel_step: float | None = None,
    seed: int = 0,
    catch: tuple[type[Exception], ...] = (),
) -> NetworkVerdict:
    """Check ``candidate(spec, params, inputs, targets)`` against JAX and finite differences.

    ``params``/``inputs``/``targets`` default to the spec's own; ``rtol``/``atol`` override the
    dtype's row of :data:`~gradcheck.checking.compare.TOLERANCES`; ``mode`` forces per-entry checks
    (``"entries"``) or random-direction checks (``"projection"``); ``fd_rel_step`` overrides the
    finite-difference step ``h = fd_rel_step * max(|p|, 1)``; ``seed`` picks the directions.
    The candidate gets copies, so it may modify its arguments. An exception of a type in
    ``catch`` raised by the candidate becomes a failed verdict naming it (the CLI passes the
    usual shape errors, so one unsupported network does not stop a run); others propagate.
    """
    p = spec.initial_params() if params is None else params
    x = spec.inputs() if inputs is None else np.asarray(inputs)
    t = spec.targets() if targets is None else np.asarray(targets)
    oracles.check_arguments(spec, p, x, t)
    if mode not in _MODES:
        raise GradcheckError(f"mode: {mode!r} is not one of {', '.join(_MODES)}")
    tolerance = tolerance_for(spec.model.dtype, rtol, atol)
    hand: Any = None  # whatever the candidate returned; _structure checks it
    raised = ""
    try:
        hand = candidate(
            spec, [{k: np.array(a) for k, a in g.items()} for g in p], x.copy(), t.copy()
        )
    except catch as exc:
        raised = f"candidate raised {type(exc).__name__}: {exc}"
    bad, notes = _structure(p, hand)
    if raised:
        notes = [raised]
    loss, jax = oracles.jax_loss_and_grads(spec, p, x, t, checked=True)
    precision: list[dict[str, Any]] = [dict.fromkeys(g) for g in p]
    if spec.dtype != np.float64:  # measure the dtype's rounding: JAX again, in float64
        jax64 = oracles.jax_loss_and_grads(spec, p, x, t, dtype="float64", checked=True)[1]
        precision = [
            {g: precision_allowance(a, b[g]) for g, a in j.items()}
            for j, b in zip(jax, jax64, strict=True)
        ]
    n_params = sum(int(np.size(a)) for g in p for a in g.values())
    projection = mode == "projection" or (mode == "auto" and n_params > PROJECTION_THRESHOLD)
    if projection:
        directions = oracles.directional_finite_difference(
            spec, p, x, t, seed=seed, rel_step=fd_rel_step, checked=True
        )
        checked = _projection_checks(
            spec, (p, x, t), (hand, jax, precision), directions, bad, tolerance, notes
        )
    else:
        fd = oracles.finite_difference(spec, p, x, t, rel_step=fd_rel_step, checked=True)
        checked = compare_entries(hand, jax, fd, tolerance, precision, bad)
        checked += [structure_check(i, g) for i, g in sorted(bad) if g in p[i]]
    checked += [structure_check(i, g) for i, g in sorted(bad) if g not in p[i]]
    return NetworkVerdict(
        name=spec.name,
        path=spec.path,
        dtype=spec.model.dtype,
        mode="projection" if projection else "entries",
        n_params=n_params,
        loss=loss,
        tolerance=tolerance,
        checked=tuple(checked),
        notes=tuple(notes),
        spec=spec,
    )


def _structure(params: Params, hand: Any) -> tuple[set[tuple[int, str]], list[str]]:
    """Groups the candidate got structurally wrong (missing, extra, misshapen, not numbers)."""
    every = {(i, g) for i, layer in enumerate(params) for g in layer}
    if not isinstance(hand, list | tuple) or len(hand) != len(params):
        got = f"{len(hand)} items" if isinstance(hand, list | tuple) else type(hand).__name__
        return every, [f"candidate returned {got}, expected a list of {len(params)} dicts"]
    bad: set[tuple[int, str]] = set()
    notes: list[str] = []
    for i, (want, got) in enumerate(zip(params, hand, strict=True)):
        if not isinstance(got, Mapping):
            bad |= {(i, g) for g in want}
            notes.append(f"candidate: layer {i + 1}: {type(got).__name__}, expected a dict")
            continue
        for g in sorted(set(want) | set(got)):
            if g not in got:
                problem = "missing"
            elif g not in want:
                problem = "returned for a group that is not trainable here"
            else:
                a = np.asarray(got[g])
                if a.dtype.kind in "fiu" and a.shape == np.shape(want[g]):
                    continue
                problem = f"shape {a.shape} dtype {a.dtype}, expected {np.shape(want[g])}"
            bad.add((i, g))
            notes.append(f"candidate: layer {i + 1} {g}: {problem}")
    return bad, notes


def _projection_checks(
    spec: Spec,
    data: tuple[Params, Array, Array],
    grads: tuple[Params, Params, list[dict[str, Any]]],
    directions: oracles.DirectionalResult,
    bad: set[tuple[int, str]],
    tolerance: Tolerance,
    notes: list[str],
) -> list[GroupCheck]:
    """One direction per group; per-entry checks only where an entry disagrees with JAX."""
    hand, jax, precision = grads
    checked: list[GroupCheck] = []
    for i, layer in enumerate(jax):
        for g, j in layer.items():
            if (i, g) in bad:
                checked.append(structure_check(i, g))
                continue
            prec = precision[i][g]
            direction = compare_direction(i, g, hand[i][g], j, directions, tolerance, prec)
            checked.append(direction)
            h = np.asarray(hand[i][g], dtype=np.float64).reshape(-1)
            jf = np.asarray(j, dtype=np.float64).reshape(-1)
            allowed = jax_tolerance(
                jf,
                tolerance,
                group_floor(jf),
                0.0 if prec is None else prec.reshape(-1),
                directions.scales[i][g].reshape(-1),
                len(jax),
            )
            excess = np.abs(h - jf) / allowed
            rows = np.flatnonzero(~(excess <= 1.0))  # NaN counts as a disagreement
            if rows.size:
                check = _escalate(spec, data, (i, g), (h, jf, prec), rows, excess, tolerance)
                _convict_rest(check, direction)
                checked.append(check)
                if rows.size > ESCALATION_LIMIT:
                    notes.append(
                        f"layer {i + 1} {g}: {rows.size} entries differ from JAX; finite "
                        f"differences on the {ESCALATION_LIMIT} worst"
                    )
    return checked


def _escalate(
    spec: Spec,
    data: tuple[Params, Array, Array],
    where: tuple[int, str],
    grads: tuple[np.ndarray, np.ndarray, Array | None],
    rows: np.ndarray,
    excess: np.ndarray,
    tolerance: Tolerance,
) -> GroupCheck:
    """Per-entry finite differences for the worst ``ESCALATION_LIMIT`` of ``rows`` (first)."""
    (i, g), (p, x, t), (hand, jax, prec) = where, data, grads
    shape = np.shape(p[i][g])
    rows = rows[np.argsort(-np.nan_to_num(excess[rows], nan=np.inf), kind="stable")]
    worst = rows[:ESCALATION_LIMIT]
    only = [(i, g, tuple(int(k) for k in np.unravel_index(r, shape))) for r in worst]
    fd = oracles.finite_difference(spec, p, x, t, only=only, checked=True)
    return compare_group(i, g, hand.reshape(shape), jax.reshape(shape), fd, tolerance, rows, prec)


def _convict_rest(check: GroupCheck, direction: GroupCheck) -> None:
    """Entries past the escalation limit have no FD of their own: where JAX agreed with FD along
    the group's direction they are backprop bugs, otherwise unresolved."""
    c = direction.columns
    jax_agrees_fd = bool(np.abs(c["jax"] - c["fd"])[0] <= c["tol_fd"][0])
    verdict = "backprop-bug" if jax_agrees_fd else "unresolved"
    check.status[ESCALATION_LIMIT:] = STATUSES.index(verdict)


def load_candidate(reference: str) -> GradientFn:
    """Import ``module:function`` or ``path/to/file.py:function`` as a gradient function."""
    target, sep, name = reference.rpartition(":")
    if not sep or not target or not name.isidentifier():
        raise CandidateError(
            f"--candidate {reference!r}: expected module:function or path/to/file.py:function"
        )
    if target.endswith(".py"):
        path = Path(target)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if not path.is_file() or spec is None or spec.loader is None:
            raise CandidateError(f"--candidate {reference!r}: no such file {path}")
        module = importlib.util.module_from_spec(spec)
        # Loading runs the user's module body, which may raise anything (a NameError, a failed
        # assert): every such failure is bad input for the run, reported as one line.
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise CandidateError(
                f"--candidate {reference!r}: cannot load {path}: {type(exc).__name__}: {exc}"
            ) from None
    else:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules beside the user
        try:
            module = importlib.import_module(target)
        except Exception as exc:  # the user's module body, as above
            raise CandidateError(
                f"--candidate {reference!r}: cannot import {target}: {type(exc).__name__}: {exc}"
            ) from None
        finally:
            sys.path.remove(os.getcwd())
    fn = getattr(module, name, None)
    if not callable(fn):
        raise CandidateError(f"--candidate {reference!r}: {target} has no function {name!r}")
    return fn  # type: ignore[no-any-return]


def write_junit_xml(verdicts: Sequence[NetworkVerdict], path: str | Path) -> None:
    """One JUnit ``testcase`` per network (failure message: the summary line), written to a
    temporary file beside ``path`` and renamed into place."""
    failures = sum(not v.ok for v in verdicts)
    suite = ET.Element(
        "testsuite",
        name="gradcheck verify",
        tests=str(len(verdicts)),
        failures=str(failures),
        errors="0",
    )
    for v in verdicts:
        case = ET.SubElement(
            suite, "testcase", classname="gradcheck.verify", name=v.name, file=v.path
        )
        if not v.ok:
            failure = ET.SubElement(case, "failure", message=v.summary(), type="gradient mismatch")
            failure.text = "\n".join(e.describe() for e in v.failures)
        else:
            ET.SubElement(case, "system-out").text = v.summary()
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp{os.getpid()}")
    root = ET.Element("testsuites")
    root.append(suite)
    try:
        ET.ElementTree(root).write(temporary, encoding="utf-8", xml_declaration=True)
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder itself may be what is wrong
            temporary.unlink(missing_ok=True)
        raise GradcheckError(f"--junit-xml {target}: cannot write ({exc.strerror})") from None
