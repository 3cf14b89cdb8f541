"""Verify a gradient function against both oracles: the entry point users and the CLI call.

``verify(candidate, spec)`` runs ``candidate(spec, params, inputs, targets)``, the JAX oracle and
finite differences on one network and returns a :class:`~gradcheck.checking.verdict.NetworkVerdict`.
Up to :data:`~gradcheck.checking.compare.PROJECTION_THRESHOLD` parameters every entry is compared
with both oracles. Above it every entry is still compared with JAX (one backward pass), but finite
differences run along one random direction per group (four forward passes each); a group whose
entries disagree with JAX gets per-entry finite differences for its worst entries only.

What the candidate returned is checked first: a result that is not one dict per layer, or a
candidate that raised, is the verdict's ``problem``; a group missing, misshapen or not numeric is
a ``structure`` failure; a group in a narrower float dtype than the network's (float32 for a
float64 network) is compared at that dtype's tolerance and is a ``dtype-mismatch`` where it agrees
there. Loading a candidate by name is :mod:`~gradcheck.checking.candidates`; writing verdicts as
JUnit XML, :mod:`~gradcheck.checking.junit`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck import oracles
from gradcheck.checking.candidates import kinds_hint, raised_note
from gradcheck.checking.compare import (
    ESCALATION_LIMIT,
    PROJECTION_THRESHOLD,
    EntryRequest,
    compare_directions,
    compare_entries,
    compare_entries_many,
    compare_group,
    dtype_mismatch,
    past_limit_status,
    structure_check,
)
from gradcheck.checking.jax_values import JaxValues, jax_oracle_later
from gradcheck.checking.joint import joint_check
from gradcheck.checking.tolerances import (
    TOLERANCES,
    group_floor,
    is_narrower,
    jax_tolerance,
    precision_allowance,
    tolerance_for,
)
from gradcheck.checking.verdict import GroupCheck, NetworkVerdict, Tolerance
from gradcheck.errors import Unsupported
from gradcheck.spec import Array, GradcheckError, GradientFn, Params, Spec
from gradcheck.spec.family import Family

__all__ = [
    "UNSUPPORTED",
    "check_options",
    "unsupported",
    "verify",
    "verify_batch",
    "within",
]

# What a candidate raises for a network it does not handle: reported ``unsupported``, not failed.
UNSUPPORTED: tuple[type[Exception], ...] = (Unsupported, NotImplementedError)

_MODES = ("auto", "entries", "projection")
_OPTIONS = ("rtol", "atol", "mode", "fd_rel_step", "seed")  # verify's keywords _run reads
Group = tuple[int, str]  # (layer index, "W" or "b")


class Returned(NamedTuple):
    """What the candidate returned, judged before any value is: ``problem`` with the whole
    result, groups that are ``bad`` (structure), groups returned in a ``narrower`` float dtype
    than the network's (group -> that dtype's name), and one note per finding."""

    problem: str
    bad: set[Group]
    narrower: dict[Group, str]
    notes: list[str]


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
    jax_values: JaxValues | None = None,
    fd: oracles.FDResult | None = None,
) -> NetworkVerdict:
    """Check ``candidate(spec, params, inputs, targets)`` against JAX and finite differences.

    ``params``/``inputs``/``targets`` default to the spec's own; ``rtol``/``atol`` override the
    dtype's row of :data:`~gradcheck.checking.tolerances.TOLERANCES`; ``mode`` forces per-entry
    checks (``"entries"``) or random-direction checks (``"projection"``); ``fd_rel_step``
    overrides the finite-difference step ``h = fd_rel_step * max(|p|, 1)``; ``seed`` picks the
    directions. The candidate gets copies, so it may modify its arguments. An exception of a
    type in ``catch`` raised by the candidate becomes a failed verdict naming it and the line of
    the candidate's file it came from (the CLI and the report pass
    :data:`~gradcheck.checking.candidates.CANDIDATE_FAILURES`, so one network the candidate
    cannot handle does not stop a run); others propagate. ``jax_values``: the JAX oracle's
    values for these very arguments, where a batched caller checked the arguments and
    computed them already (:func:`~gradcheck.checking.batched.verify_many`); ``fd`` likewise,
    their per-entry finite differences at ``fd_rel_step`` (used where every entry is compared).
    """
    run = _run(
        candidate,
        (spec, params, inputs, targets),
        {"rtol": rtol, "atol": atol, "mode": mode, "fd_rel_step": fd_rel_step, "seed": seed},
        catch,
        jax_values,
        fd,
    )
    return run if isinstance(run, NetworkVerdict) else run.verdict(run.main())


def check_options(options: Mapping[str, Any]) -> None:
    """Raise on a keyword :func:`verify` does not take (a misspelt ``rtol`` never passes
    silently through the batched path)."""
    unknown = sorted(set(options) - {*_OPTIONS, "catch"})
    if unknown:
        known = ", ".join((*_OPTIONS, "catch"))
        raise TypeError(f"unknown verify options {unknown}; known: {known}")


def verify_batch(
    candidate: GradientFn,
    batch: Sequence[tuple[Spec, Params, Array, Array]],
    values: Sequence[JaxValues | None],
    fds: Sequence[oracles.FDResult | None],
    **options: Any,
) -> list[NetworkVerdict]:
    """``[verify(candidate, *arguments, **options, jax_values=v, fd=f) ...]`` over ``batch`` and
    its JAX values and finite differences: the candidate is called network by network, then the
    entries every network compares at its dtype's tolerance are classified together
    (:func:`~gradcheck.checking.compare.compare_entries_many`: one vectorised pass, not one per
    network)."""
    check_options(options)
    catch = options.pop("catch", ())
    runs = [
        _run(candidate, arguments, options, catch, value, fd)
        for arguments, value, fd in zip(batch, values, fds, strict=True)
    ]
    alike: dict[Tolerance, list[tuple[int, _Run]]] = {}
    for k, run in enumerate(runs):
        if isinstance(run, _Run) and isinstance(run.oracle, oracles.FDResult):
            alike.setdefault(run.tolerance, []).append((k, run))
    main: dict[int, list[GroupCheck]] = {}
    for tolerance, group in alike.items():
        found = compare_entries_many([run.request() for _, run in group], tolerance)
        main.update(zip((k for k, _ in group), found, strict=True))
    verdicts = []
    for k, run in enumerate(runs):
        if isinstance(run, _Run):
            run = run.verdict(main[k] if k in main else run.main())
        verdicts.append(run)
    return verdicts


class _Run(NamedTuple):
    """A verification with the candidate and both oracles run, before its values are judged:
    :meth:`main` compares the groups returned in the network's dtype, :meth:`verdict` adds the
    rest (narrower dtypes, structure failures) and builds the verdict."""

    spec: Spec
    data: tuple[Params, Array, Array]
    hand: Any
    returned: Returned
    oracle: oracles.FDResult | oracles.DirectionalResult
    jax_values: JaxValues
    precision: list[dict[str, Any]]
    tolerance: Tolerance
    limits: tuple[float | None, float | None]  # rtol, atol as given

    @property
    def trainable(self) -> list[Group]:
        return [(i, g) for i, layer in enumerate(self.data[0]) for g in layer]

    def _main_groups(self) -> set[Group]:
        return set(self.trainable) - self.returned.bad - set(self.returned.narrower)

    def request(self) -> EntryRequest:
        """The main comparison's arguments, where every entry is compared."""
        assert isinstance(self.oracle, oracles.FDResult)
        skip = set(self.trainable) - self._main_groups()
        return EntryRequest(self.hand, self.jax_values.grads, self.oracle, self.precision, skip)

    def main(self) -> list[GroupCheck]:
        """The groups returned in the network's dtype, compared at its tolerance."""
        return self.compare(self.tolerance, self._main_groups())

    def compare(self, tol: Tolerance, only: set[Group]) -> list[GroupCheck]:
        """The groups ``only``, compared at ``tol`` with whichever oracle ran."""
        skip = set(self.trainable) - only
        jax = self.jax_values.grads
        if isinstance(self.oracle, oracles.DirectionalResult):
            grads = (self.hand, jax, self.precision)
            notes = self.returned.notes
            return _projection_checks(self.spec, self.data, grads, self.oracle, skip, tol, notes)
        return compare_entries(self.hand, jax, self.oracle, tol, self.precision, skip)

    def verdict(self, main: list[GroupCheck]) -> NetworkVerdict:
        """The verdict, from :meth:`main`'s checks and those of the other groups."""
        spec, returned, (rtol, atol) = self.spec, self.returned, self.limits
        checked, joint = list(main), ""
        if isinstance(self.oracle, oracles.FDResult) and self.oracle.hull is not None:
            checked, joint = joint_check(checked, self.oracle.hull)
        narrower = returned.narrower
        for dtype in sorted(set(narrower.values())):  # at that dtype's tolerance, where it has one
            only = {group for group, d in narrower.items() if d == dtype}
            known = dtype in TOLERANCES
            at = tolerance_for(dtype, rtol, atol) if known else self.tolerance
            checked += [dtype_mismatch(c, keep_failures=known) for c in self.compare(at, only)]
        checked += [structure_check(i, g) for i, g in sorted(returned.bad)]
        order = {group: k for k, group in enumerate(self.trainable)}  # then the untrainable
        checked.sort(key=lambda c: order.get((c.layer, c.group), len(order)))  # stable
        projection = isinstance(self.oracle, oracles.DirectionalResult)
        return NetworkVerdict(
            name=spec.name,
            path=spec.path,
            dtype=spec.model.dtype,
            mode="projection" if projection else "entries",
            n_params=sum(int(np.size(a)) for g in self.data[0] for a in g.values()),
            loss=self.jax_values.loss,
            tolerance=self.tolerance,
            checked=tuple(checked),
            notes=(*returned.notes, *([joint] if joint else [])),
            problem=returned.problem,
            spec=spec,
        )


def _run(
    candidate: GradientFn,
    arguments: tuple[Spec, Params | None, Array | None, Array | None],
    options: dict[str, Any],
    catch: tuple[type[Exception], ...],
    jax_values: JaxValues | None,
    fd: oracles.FDResult | None,
) -> _Run | NetworkVerdict:
    """Call the candidate and run both oracles (see :func:`verify`); an unsupported network's
    verdict at once."""
    spec, params, inputs, targets = arguments
    rtol, atol = options.get("rtol"), options.get("atol")
    mode, fd_rel_step = options.get("mode", "auto"), options.get("fd_rel_step")
    p = spec.initial_params() if params is None else params
    x = spec.inputs() if inputs is None else np.asarray(inputs)
    t = spec.targets() if targets is None else np.asarray(targets)
    if jax_values is None:  # else the batched caller checked them, before its JAX call
        oracles.check_arguments(spec, p, x, t)
    if mode not in _MODES:
        raise GradcheckError(f"mode: {mode!r} is not one of {', '.join(_MODES)}")
    tolerance = tolerance_for(spec.model.dtype, rtol, atol)
    pending = None if jax_values is not None else jax_oracle_later(spec, p, x, t)
    hand: Any = None  # whatever the candidate returned; _structure checks it
    raised = ""
    try:
        hand = candidate(
            spec, [{k: np.array(a) for k, a in g.items()} for g in p], x.copy(), t.copy()
        )
    except UNSUPPORTED as exc:
        return unsupported(spec, raised_note(candidate, exc))
    except catch as exc:
        raised = raised_note(candidate, exc) + kinds_hint(spec.kinds)
    returned = _structure(p, hand, spec.dtype, raised, spec.frozen_params)
    n_params = sum(int(np.size(a)) for g in p for a in g.values())
    projection = mode == "projection" or (mode == "auto" and n_params > PROJECTION_THRESHOLD)
    oracle: oracles.FDResult | oracles.DirectionalResult
    if projection:
        seed = options.get("seed", 0)
        oracle = oracles.directional_finite_difference(
            spec, p, x, t, seed=seed, rel_step=fd_rel_step, checked=True
        )
    elif fd is not None:
        oracle = fd
    else:
        oracle = oracles.finite_difference(spec, p, x, t, rel_step=fd_rel_step, checked=True)
    if pending is not None:  # XLA computed while the candidate and the FD oracle ran
        jax_values = pending()
    assert jax_values is not None
    jax = jax_values.grads
    precision: list[dict[str, Any]] = [dict.fromkeys(g) for g in p]
    if spec.dtype != np.float64:  # measure the dtype's rounding: JAX again, in float64
        jax64 = jax_values.grads64
        if jax64 is None:
            jax64 = oracles.jax_loss_and_grads(spec, p, x, t, dtype="float64", checked=True)[1]
        kinked = oracle.at_kink if isinstance(oracle, oracles.FDResult) else None
        precision = [
            {
                g: precision_allowance(a, b[g], None if kinked is None else kinked[i][g])
                for g, a in j.items()
            }
            for i, (j, b) in enumerate(zip(jax, jax64, strict=True))
        ]
    limits = (rtol, atol)
    return _Run(spec, (p, x, t), hand, returned, oracle, jax_values, precision, tolerance, limits)


def within(
    family: Family | None, check: Callable[[Spec], NetworkVerdict], spec: Spec
) -> NetworkVerdict:
    """``check(spec)``, or an unsupported verdict naming how ``spec`` falls outside ``family``
    (a given network the candidate does not claim to handle is not checked)."""
    outside = family.outside(spec) if family is not None else []
    if outside:
        return unsupported(spec, "outside the family: " + "; ".join(outside))
    return check(spec)


def unsupported(spec: Spec, reason: str) -> NetworkVerdict:
    """The verdict on a network left unchecked because its candidate does not handle it
    (``reason``: what the candidate raised, or how the network falls outside its family)."""
    return NetworkVerdict(
        name=spec.name,
        path=spec.path,
        dtype=spec.model.dtype,
        mode="entries",
        n_params=spec.n_params,
        loss=float("nan"),
        tolerance=tolerance_for(spec.model.dtype, None, None),
        checked=(),
        unsupported=reason,
        spec=spec,
    )


def _structure(
    params: Params,
    hand: Any,
    dtype: np.dtype[Any],
    raised: str,
    frozen: Callable[[], Params] = list,
) -> Returned:
    """Judge what the candidate returned (see :class:`Returned`), or that it ``raised`` (the
    note naming the exception); values are not looked at. ``frozen()``: the network's frozen
    groups, to tell a returned frozen group from a name that is no group of the layer."""
    every = {(i, g) for i, layer in enumerate(params) for g in layer}
    if raised or not isinstance(hand, list | tuple) or len(hand) != len(params):
        got = f"{len(hand)} items" if isinstance(hand, list | tuple) else type(hand).__name__
        problem = raised or f"candidate returned {got}, expected a list of {len(params)} dicts"
        return Returned(problem, every, {}, [problem])
    bad: set[Group] = set()
    narrower: dict[Group, str] = {}
    integral: dict[str, list[str]] = {}  # integer dtype -> the groups returned in it
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
                held = frozen()
                if i < len(held) and g in held[i]:
                    problem = "returned for a frozen group (not trainable here)"
                else:
                    groups = sorted({*want, *(held[i] if i < len(held) else ())})
                    problem = f"returned, but the layer has no group {g!r} (its groups: "
                    problem += f"{', '.join(groups) or 'none'})"
            else:
                a = np.asarray(got[g])
                if a.dtype.kind in "fiu" and a.shape == np.shape(want[g]):
                    if is_narrower(a.dtype, dtype):
                        narrower[i, g] = a.dtype.name
                    elif a.dtype.kind in "iu":  # judged as numbers, said to be integers
                        integral.setdefault(a.dtype.name, []).append(f"layer {i + 1} {g}")
                    continue
                problem = f"shape {a.shape} dtype {a.dtype}, expected {np.shape(want[g])}"
            bad.add((i, g))
            notes.append(f"candidate: layer {i + 1} {g}: {problem}")
    for name in sorted(set(narrower.values())):
        where = ", ".join(f"layer {i + 1} {g}" for (i, g), d in narrower.items() if d == name)
        notes.append(f"candidate returned {name} for a {dtype.name} network: {where}")
    for name, groups in sorted(integral.items()):
        notes.append(
            f"candidate returned integers ({name}) for a {dtype.name} network: "
            f"{', '.join(groups)} (a gradient rounded or cast to int?)"
        )
    return Returned("", bad, narrower, notes)


def _projection_checks(
    spec: Spec,
    data: tuple[Params, Array, Array],
    grads: tuple[Params, Params, list[dict[str, Any]]],
    found: oracles.DirectionalResult,
    skip: set[Group],
    tolerance: Tolerance,
    notes: list[str],
) -> list[GroupCheck]:
    """One direction per group but ``skip``; per-entry checks only where an entry disagrees
    with JAX."""
    hand, jax, precision = grads
    groups = [(i, g) for i, layer in enumerate(jax) for g in layer if (i, g) not in skip]
    checked: list[GroupCheck] = []
    directions = compare_directions(groups, hand, jax, found, tolerance, precision)
    for (i, g), direction in zip(groups, directions, strict=True):
        prec = precision[i][g]
        checked.append(direction)
        h = np.asarray(hand[i][g], dtype=np.float64).reshape(-1)
        jf = np.asarray(jax[i][g], dtype=np.float64).reshape(-1)
        allowed = jax_tolerance(
            jf,
            tolerance,
            group_floor(jf),
            0.0 if prec is None else prec.reshape(-1),
            found.scales[i][g].reshape(-1),
            len(jax),
        )
        excess = np.abs(h - jf) / allowed
        rows = np.flatnonzero(~(excess <= 1.0))  # NaN counts as a disagreement
        if rows.size:
            checked.append(
                _escalate(spec, data, (i, g), (h, jf, prec), rows, excess, direction, tolerance)
            )
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
    direction: GroupCheck,
    tolerance: Tolerance,
) -> GroupCheck:
    """Per-entry finite differences for the worst ``ESCALATION_LIMIT`` of ``rows`` (first); the
    rest of ``rows`` are judged by the group's ``direction`` check (:func:`past_limit_status`)."""
    (i, g), (p, x, t), (hand, jax, prec) = where, data, grads
    shape = np.shape(p[i][g])
    rows = rows[np.argsort(-np.nan_to_num(excess[rows], nan=np.inf), kind="stable")]
    worst = rows[:ESCALATION_LIMIT]
    only = [(i, g, tuple(int(k) for k in np.unravel_index(r, shape))) for r in worst]
    fd = oracles.finite_difference(spec, p, x, t, only=only, checked=True)
    rest = past_limit_status(direction)
    return compare_group(
        i, g, hand.reshape(shape), jax.reshape(shape), fd, tolerance, rows, prec, rest
    )
