"""``verify_layer``: a course-style layer checked over Hypothesis-drawn cases, shrunk on failure.

It joins the draws (:mod:`gradcheck.generate.layer_draws`) with the checks of one case
(:mod:`gradcheck.checking.layer_check`), which is why it sits above both. Hypothesis's ``find``
draws up to ``examples`` cases from ``seed`` (no example database: a run is replayed by its
seed); the first failing case is shrunk to a minimal one (smallest batch, sizes, strides,
``data_seed``), checked again for the verdict, and given as a Python call and, where both
functions have importable names, a ``gradcheck verify-layer`` command that replay exactly it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from gradcheck.checking.candidates import candidate_reference
from gradcheck.checking.layer_check import check_layer_case
from gradcheck.checking.layer_verdict import LayerCaseResult, LayerVerdict
from gradcheck.checking.tolerances import tolerance_for
from gradcheck.generate.layer_draws import layer_arrays, layer_cases
from gradcheck.spec.layer_contract import LAYER_CONTRACTS, LayerOptionError

__all__ = ["DEFAULT_EXAMPLES", "verify_layer"]

DEFAULT_EXAMPLES = 100
_DTYPES = ("float64", "float32")


def verify_layer(
    kind: str,
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    *,
    examples: int = DEFAULT_EXAMPLES,
    dtype: str = "float64",
    seed: int = 0,
    rtol: float | None = None,
    atol: float | None = None,
    references: tuple[str, str] | None = None,
    **options: Any,
) -> LayerVerdict:
    """Check ``forward(x, *params[, options]) -> (out, cache)`` and ``backward(dout, cache) ->
    (dx, *dparams)`` for layer ``kind`` over ``examples`` drawn cases.

    ``options`` fix knobs of the case (``stride=2``, ``N=1``, ``layout="out_in"``; see
    :data:`~gradcheck.spec.layer_contract.CONTRACT_TABLE`); the rest are drawn. ``references``:
    the ``MODULE:FUNCTION`` strings that load ``forward`` and ``backward``, for the replay
    command (default: found from the functions where they have importable names). An unknown kind,
    option or dtype raises a :class:`~gradcheck.errors.GradcheckError`; a forward or backward
    that raises or returns the wrong thing fails the verdict, naming what it did.
    """
    contract = LAYER_CONTRACTS[kind]
    if dtype not in _DTYPES:
        raise LayerOptionError(
            f"verify_layer {kind}: dtype: expected float64 or float32, got {dtype!r}"
        )
    if not isinstance(examples, int) or examples < 1:
        raise LayerOptionError(
            f"verify_layer {kind}: examples: expected an integer >= 1, got {examples!r}"
        )
    cases = layer_cases(kind, options)
    tolerance = tolerance_for(dtype, rtol, atol)
    checked = 0

    def check(case: dict[str, Any], explain: bool = True) -> LayerCaseResult:
        arrays = layer_arrays(kind, case, dtype)
        return check_layer_case(
            kind, forward, backward, case, arrays, tolerance, dtype, explain=explain
        )

    def fails(case: dict[str, Any]) -> bool:  # the search needs pass or fail only
        nonlocal checked
        checked += 1
        return not check(case, explain=False).ok

    search = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
    )
    names = (_name(forward), _name(backward))
    try:
        minimal = find(cases, fails, settings=search, random=random.Random(seed))
    except NoSuchExample:
        return LayerVerdict(kind, *names, dtype, seed, checked, tolerance, None, None, None, None)
    case = {k: minimal[k] for k in contract.knobs}
    found = references or (candidate_reference(forward), candidate_reference(backward))
    replay, command = _replays(kind, names, found, case, dtype, rtol, atol)
    result = check(case)
    return LayerVerdict(
        kind, *names, dtype, seed, checked, tolerance, case, result, replay, command
    )


def _name(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__name__", type(fn).__name__))


def _replays(
    kind: str,
    names: tuple[str, str],
    references: tuple[str | None, str | None],
    case: dict[str, Any],
    dtype: str,
    rtol: float | None,
    atol: float | None,
) -> tuple[str, str | None]:
    """The Python call and the shell command (None without importable names) that check exactly
    ``case`` again."""
    extra: dict[str, object] = {"dtype": dtype} if dtype != "float64" else {}
    extra |= {k: v for k, v in (("rtol", rtol), ("atol", atol)) if v is not None}
    keywords = ", ".join(f"{k}={v!r}" for k, v in {"examples": 1, **extra, **case}.items())
    call = f"verify_layer({kind!r}, {names[0]}, {names[1]}, {keywords})"
    if None in references:
        return call, None
    flags = [f"--{k} {v}" for k, v in extra.items()]
    flags += [f"--option {k}={v}" for k, v in case.items()]
    command = (
        f"gradcheck verify-layer {kind} --forward {references[0]} --backward {references[1]} "
        f"--examples 1 {' '.join(flags)}"
    )
    return call, command
