"""One layer case checked three ways: forward vs reference, backward vs JAX vjp and vs FD.

:func:`check_layer_case` calls the user's ``forward(x, *params[, options]) -> (out, cache)`` and
``backward(dout, cache) -> (dx, *dparams)`` (the course contract,
:mod:`gradcheck.spec.layer_contract`) on one case's arrays and compares:

* ``out`` with the JAX reference forward, per entry;
* each gradient with JAX's vjp of the reference for the same ``dout``, per entry;
* the gradients with finite differences of ``<dout, forward(args)>`` through the user's own
  forward, in float64: first along one random direction through every argument at once
  (four forward calls), then, only to explain a disagreement, per argument and per entry.

Tolerances are :mod:`gradcheck.checking.tolerances`' for the dtype. An argument's absolute floor
scales with the layer: ``M_a = max(max |j_a|, max_b max |j_b| rms(b) / rms(a))``, since
``|j_a| rms(a)`` is in the units of ``<dout, out>`` for every argument ``a`` (a gradient that is
zero by cancellation, as ``dx`` of a batch norm over one sample, is judged against the layer's
scale, not against zero). In float32, the measured rounding of JAX in float32 against float64
is allowed too (:func:`~gradcheck.checking.tolerances.precision_allowance`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from gradcheck.checking.candidates import CANDIDATE_FAILURES, raised_note
from gradcheck.checking.layer_verdict import CHECKS, LayerCaseResult, LayerCheck, Tally, diagnose
from gradcheck.checking.tolerances import (
    fd_tolerance,
    group_floor,
    is_narrower,
    jax_tolerance,
    precision_allowance,
)
from gradcheck.checking.verdict import Tolerance
from gradcheck.oracles.layer_fd import DEFAULT_REL_STEP, directional_derivative, inner_product_noise
from gradcheck.oracles.layer_vjp import reference_vjp
from gradcheck.spec.layer_contract import LAYER_CONTRACTS, LayerContract, gradient_name

__all__ = ["EXPLAINED_ENTRIES", "check_layer_case"]

EXPLAINED_ENTRIES = 512  # per-entry finite differences explain a failure up to this many entries
Arrays = Mapping[str, np.ndarray]


class _Broken(Exception):
    """The user's function raised or returned the wrong thing: one line, in ``args[0]``."""


def _call(fn: Callable[..., Any], role: str, *args: Any) -> Any:
    try:
        return fn(*args)
    except CANDIDATE_FAILURES as exc:  # user code: any Exception is its failure, not ours
        raise _Broken(raised_note(fn, exc).replace("candidate", role, 1)) from None


def _run_forward(
    contract: LayerContract, forward: Callable[..., Any], case: Mapping[str, Any], arrays: Arrays
) -> tuple[np.ndarray, Any]:
    """``(out, cache)`` from ``forward`` on copies of ``arrays``, checked for shape and values."""
    args = [np.array(arrays[n]) for n in contract.arguments()]
    options = contract.options(case, {n: np.array(arrays[n]) for n in contract.extras})
    returned = _call(forward, "forward", *args, *([] if options is None else [options]))
    if not isinstance(returned, tuple | list) or len(returned) != 2:
        got = (
            f"{len(returned)} values"
            if isinstance(returned, tuple | list)
            else type(returned).__name__
        )
        raise _Broken(f"forward returned {got}, expected ({contract.output}, cache)")
    out = _numbers(returned[0], "forward", contract.output, contract.shapes(case)["out"])
    return out, returned[1]


def _numbers(value: Any, role: str, name: str, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "fiu" or a.shape != shape:
        raise _Broken(
            f"{role} returned {name} of shape {a.shape} dtype {a.dtype}, expected {shape}"
        )
    if not np.all(np.isfinite(a)):
        raise _Broken(f"{role} returned NaN or inf in {name}")
    return a


def _run_backward(
    contract: LayerContract,
    backward: Callable[..., Any],
    case: Mapping[str, Any],
    dout: np.ndarray,
    cache: Any,
) -> dict[str, np.ndarray]:
    """The gradients ``backward(dout, cache)`` returns, by argument, checked (shape, values)."""
    names = contract.arguments()
    returned = _call(backward, "backward", np.array(dout), cache)
    if len(names) == 1 and not isinstance(returned, tuple | list):
        returned = (returned,)
    expected = ", ".join(gradient_name(n) for n in names)
    if not isinstance(returned, tuple | list) or len(returned) != len(names):
        got = (
            f"{len(returned)} values"
            if isinstance(returned, tuple | list)
            else type(returned).__name__
        )
        raise _Broken(f"backward returned {got}, expected ({expected})")
    shapes = contract.shapes(case)
    return {
        n: _numbers(g, "backward", gradient_name(n), shapes[n])
        for n, g in zip(names, returned, strict=True)
    }


def _worst(
    check: str, name: str, got: np.ndarray, expected: np.ndarray, allowed: np.ndarray
) -> LayerCheck:
    """The entry of ``got`` farthest outside ``allowed`` (relative to it), as a check."""
    diff = np.abs(np.asarray(got, np.float64) - expected)
    over = diff / allowed
    k = int(np.argmax(over)) if over.size else 0
    index = np.unravel_index(k, got.shape) if got.size else ()
    where = f"{name}[{','.join(map(str, index))}]" if got.ndim else name
    failing = int(np.sum(diff > allowed))
    values = (
        (float(got.reshape(-1)[k]), float(expected.reshape(-1)[k]), float(allowed.reshape(-1)[k]))
        if got.size
        else (0.0, 0.0, 0.0)
    )
    return LayerCheck(check, failing == 0, where, *values, (Tally(name, failing, int(got.size)),))


def _merged(check: str, parts: list[LayerCheck]) -> LayerCheck:
    """One check over several arguments: the first failing one named, each one's tallies."""
    first = next((c for c in parts if not c.ok), parts[0])
    return LayerCheck(
        check,
        all(p.ok for p in parts),
        first.where,
        first.got,
        first.expected,
        first.allowed,
        tuple(t for p in parts for t in p.tallies),
        first.note,
    )


def _noted_narrower(check: LayerCheck, name: str, got: np.ndarray, dtype: str) -> LayerCheck:
    """A failing check of gradient ``name`` noting that the backward returned a float dtype
    narrower than the layer's (a float32 gradient of a float64 layer misses by float32's
    rounding, not a formula)."""
    if not is_narrower(got.dtype, dtype):
        return check
    return replace(check, note=f"your {name} is {got.dtype}, the layer {dtype}")


def _magnitudes(grads: Arrays, arrays: Arrays) -> dict[str, float]:
    """``M_a`` per argument (module docstring): the layer's scale in each argument's units."""
    rms = {n: float(np.sqrt(np.mean(np.square(arrays[n], dtype=np.float64)))) for n in grads}
    own = {n: float(np.max(np.abs(g), initial=0.0)) for n, g in grads.items()}
    layer = max(own[n] * rms[n] for n in grads)
    return {n: max(own[n], layer / rms[n]) if rms[n] > 0 else own[n] for n in grads}


def check_layer_case(
    kind: str,
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    case: Mapping[str, Any],
    arrays: Arrays,
    tolerance: Tolerance,
    dtype: str,
    *,
    explain: bool = True,
) -> LayerCaseResult:
    """The three checks of one case (module docstring), or the problem that stopped them.

    ``explain=False`` answers only pass or fail, as a search needs: a forward or vjp check that
    already failed skips the finite differences, and a failing direction is not explained per
    entry (its diagnosis is then incomplete)."""
    contract = LAYER_CONTRACTS[kind]
    names = contract.arguments()
    try:
        out, cache = _run_forward(contract, forward, case, arrays)
        grads = _run_backward(contract, backward, case, arrays["dout"], cache)
    except _Broken as broken:
        return LayerCaseResult((), str(broken.args[0]), f"{str(broken.args[0]).split()[0]} broken")
    ref_out, ref = reference_vjp(kind, case, arrays, dtype)
    precision: dict[str, Any] = dict.fromkeys((*names, "out"), 0.0)
    if dtype != "float64":
        wide = {n: np.asarray(a, np.float64) for n, a in arrays.items()}
        out64, ref64 = reference_vjp(kind, case, wide, "float64")
        precision = {n: precision_allowance(ref[n], ref64[n]) for n in names}
        precision["out"] = precision_allowance(ref_out, out64)
    ref_out = np.asarray(ref_out, np.float64)
    top = float(np.max(np.abs(ref_out), initial=0.0))
    allowed = jax_tolerance(
        ref_out, tolerance, group_floor(ref_out), precision["out"], magnitude=top
    )
    forward_check = _worst(CHECKS[0], contract.output, out, ref_out, allowed)
    magnitude = _magnitudes(ref, arrays)
    vjp_parts = []
    for n in names:
        j = np.asarray(ref[n], np.float64)
        allowed = jax_tolerance(j, tolerance, group_floor(j), precision[n], magnitude=magnitude[n])
        name = gradient_name(n)
        part = _worst(CHECKS[1], name, grads[n], j, allowed)
        vjp_parts.append(part if part.ok else _noted_narrower(part, name, grads[n], dtype))
    vjp_check = _merged(CHECKS[1], vjp_parts)
    if not explain and not (forward_check.ok and vjp_check.ok):
        return LayerCaseResult((forward_check, vjp_check), "", "failed")
    try:
        base = out if out.dtype == np.float64 else None  # the float64 forward, where it ran
        focus = "" if vjp_check.ok else vjp_check.where  # the FD check names it too, if it can
        fd_check = _fd_check(
            contract,
            forward,
            case,
            arrays,
            (base, grads),
            ref,
            precision,
            tolerance,
            (explain, focus),
        )
    except _Broken as broken:
        return LayerCaseResult((forward_check, vjp_check), str(broken.args[0]), "forward broken")
    checks = (forward_check, vjp_check, fd_check)
    return LayerCaseResult(checks, "", diagnose(*(c.ok for c in checks)))


def _fd_check(
    contract: LayerContract,
    forward: Callable[..., Any],
    case: Mapping[str, Any],
    arrays: Arrays,
    yours: tuple[np.ndarray | None, dict[str, np.ndarray]],
    ref: Arrays,
    precision: Mapping[str, Any],
    tolerance: Tolerance,
    explaining: tuple[bool, str],
) -> LayerCheck:
    """The user's gradients against finite differences of ``<dout, forward(args)>`` through the
    user's forward in float64: one random direction through every argument, then (only on a
    disagreement) one per argument, then per entry of every argument (up to
    :data:`EXPLAINED_ENTRIES` each), so its counts compare with the JAX check's. ``yours``: the
    user's float64 output (None: not run yet) and gradients; ``explaining``: whether to explain
    a disagreement, and the entry the JAX check named (shown here too where FD disagrees there)."""
    explain, focus = explaining
    names = contract.arguments()
    wide = {n: np.asarray(a, np.float64) for n, a in arrays.items()}
    dout = wide["dout"]
    base, grads = yours
    if base is None:
        base = _run_forward(contract, forward, case, wide)[0]
    centre, noise = float(np.sum(dout * base)), inner_product_noise(dout, base)
    step = DEFAULT_REL_STEP * max(
        1.0, *(float(np.max(np.abs(wide[n]), initial=0.0)) for n in names)
    )
    rng = np.random.default_rng([int(case["data_seed"]), 1])
    directions = {n: rng.standard_normal(wide[n].shape) for n in names}
    directions = {
        n: v / max(float(np.max(np.abs(v), initial=0.0)), 1e-300) for n, v in directions.items()
    }

    def along(moved: Mapping[str, np.ndarray]) -> tuple[float, float]:
        def phi(t: float) -> float:
            shifted = {**wide, **{n: wide[n] + t * v for n, v in moved.items()}}
            return float(np.sum(dout * _run_forward(contract, forward, case, shifted)[0]))

        return directional_derivative(phi, step, centre, noise)

    def judge(moved: Mapping[str, np.ndarray], label: str) -> LayerCheck:
        value, error = along(moved)
        yours = sum(float(np.sum(grads[n] * v)) for n, v in moved.items())
        size = max(
            sum(float(np.sum(np.abs(ref[n]) * np.abs(v))) for n, v in moved.items()),
            sum(float(np.sum(np.abs(grads[n]) * np.abs(v))) for n, v in moved.items()),
        )
        slack = sum(float(np.sum(np.asarray(precision[n]) * np.abs(v))) for n, v in moved.items())
        fd = np.array(value)
        allowed = fd_tolerance(fd, np.array(error), tolerance, 1e-4 * size, slack, magnitude=size)
        ok = bool(abs(yours - value) <= allowed)
        counted = Tally(", ".join(gradient_name(n) for n in moved), int(not ok), 1, direction=True)
        return LayerCheck(CHECKS[2], ok, label, yours, value, float(allowed), (counted,))

    combined = judge(directions, "<(" + ", ".join(gradient_name(n) for n in names) + "), v>")
    if combined.ok or not explain:
        return combined
    parts = [judge({n: directions[n]}, f"<{gradient_name(n)}, v>") for n in names]
    explained = [
        _per_entry(judge, wide[n], n, focus) if wide[n].size <= EXPLAINED_ENTRIES else p
        for n, p in zip(names, parts, strict=True)
    ]
    return _merged(CHECKS[2], explained) if not all(p.ok for p in parts) else combined


def _per_entry(
    judge: Callable[[Mapping[str, np.ndarray], str], LayerCheck],
    a: np.ndarray,
    name: str,
    focus: str,
) -> LayerCheck:
    """Every entry of argument ``name`` differenced alone; shown: ``focus`` (the JAX check's
    entry) where it fails here too, else the worst one (noting that FD agrees at ``focus``)."""
    checks = []
    for k in range(a.size):
        unit = np.zeros(a.size)
        unit[k] = 1.0
        index = np.unravel_index(k, a.shape)
        checks.append(
            judge(
                {name: unit.reshape(a.shape)}, f"{gradient_name(name)}[{','.join(map(str, index))}]"
            )
        )
    worst = max(checks, key=lambda c: abs(c.got - c.expected) / c.allowed)
    at = {c.where: c for c in checks}
    note = ""
    if focus in at and not at[focus].ok:
        worst = at[focus]
    elif focus in at and not worst.ok:
        note = f"FD agrees at {focus}, where JAX differs most"
    failing = sum(c.failing for c in checks)
    return LayerCheck(
        CHECKS[2],
        failing == 0,
        worst.where,
        worst.got,
        worst.expected,
        worst.allowed,
        (Tally(gradient_name(name), failing, len(checks)),),
        note,
    )
