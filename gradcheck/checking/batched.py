"""Verify many networks at once: :func:`verify_many`, what ``gradcheck verify --examples N`` and
the pytest fixture's ``verify_generated`` call on their generated networks.

The verdicts are :func:`~gradcheck.checking.verification.verify`'s, network by network (the
candidate is still called once per network: it is the code under test), but the JAX oracle runs
once per shape bucket for a whole batch (:func:`gradcheck.oracles.jax_loss_and_grads_many`: the
networks of a bucket stacked under one ``jax.vmap``), float32 networks' float64 reference
included, and the finite differences of every network compared entry by entry are taken
together (:func:`gradcheck.oracles.finite_differences_many`: the stencils of alike networks, same
sizes and data shapes, in one stacked pass; bit for bit each network's own numbers). A network
whose layers have no padded JAX layout is verified alone. A vmapped program
may round JAX's last bits otherwise than the one-network program: findings are the same, numbers
derived from JAX may differ in their last bits from :func:`verify`'s, never from another batched
run's (:func:`verify_specs`, which the command uses on given networks, replays them exactly).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from gradcheck import oracles
from gradcheck.checking.compare import PROJECTION_THRESHOLD
from gradcheck.checking.jax_values import JaxValues
from gradcheck.checking.verdict import NetworkVerdict
from gradcheck.checking.verification import check_options, verify_batch, within
from gradcheck.spec import Array, GradientFn, Params, Spec
from gradcheck.spec.family import Family

__all__ = ["BATCH", "verify_many", "verify_specs"]

BATCH = 1024  # networks whose JAX values are held at once

Arguments = tuple[Spec, Params, Array, Array]


def verify_many(
    candidate: GradientFn, cases: Iterable[Sequence[Any]], **options: Any
) -> list[NetworkVerdict]:
    """``[verify(candidate, *case, **options) for case in cases]``, the JAX oracle batched.

    A case is ``(spec, params, inputs, targets)`` (a :class:`~gradcheck.generate.case.Case`
    unpacks so); ``options`` are :func:`~gradcheck.checking.verification.verify`'s keywords."""
    check_options(options)
    verdicts: list[NetworkVerdict] = []
    batch: list[Arguments] = []
    for case in cases:
        spec, params, inputs, targets = case
        batch.append((spec, params, np.asarray(inputs), np.asarray(targets)))
        if len(batch) == BATCH:
            verdicts += _verify_batch(candidate, batch, options)
            batch = []
    return verdicts + _verify_batch(candidate, batch, options)


def verify_specs(
    candidate: GradientFn, specs: Sequence[Spec], family: Family | None = None, **options: Any
) -> list[NetworkVerdict]:
    """``[within(family, verify(candidate, spec, **options)) for spec in specs]``, each on its
    own params and data, the networks inside ``family`` verified by :func:`verify_many` (so a
    saved generated network replays with the numbers its batch gave it)."""
    inside = [s for s in specs if not (family is not None and family.outside(s))]
    own = [(s, s.initial_params(), s.inputs(), s.targets()) for s in inside]
    checked = iter(verify_many(candidate, own, **options))
    return [within(family, lambda _: next(checked), s) for s in specs]


def _verify_batch(
    candidate: GradientFn, batch: list[Arguments], options: dict[str, Any]
) -> list[NetworkVerdict]:
    """:func:`verify` on each network of ``batch`` with its JAX values computed together."""
    for arguments in batch:  # a bad network raises here, before any JAX call
        oracles.check_arguments(*arguments)
    values = jax_values_many(batch)
    fds = fd_results_many(batch, options)
    return verify_batch(candidate, batch, values, fds, **options)


def fd_results_many(
    batch: list[Arguments], options: dict[str, Any]
) -> list[oracles.FDResult | None]:
    """Per-entry finite differences of every network of ``batch`` that :func:`verify` would
    compare entry by entry under ``options`` (None for the others), alike networks' stencils
    batched (:func:`gradcheck.oracles.finite_differences_many`: the same numbers)."""
    mode = options.get("mode", "auto")
    entries = [
        k
        for k, (_, params, _, _) in enumerate(batch)
        if mode == "entries"
        or (
            mode == "auto"
            and sum(int(np.size(a)) for g in params for a in g.values()) <= PROJECTION_THRESHOLD
        )
    ]
    found = oracles.finite_differences_many(
        [batch[k] for k in entries], rel_step=options.get("fd_rel_step")
    )
    results: list[oracles.FDResult | None] = [None] * len(batch)
    for k, fd in zip(entries, found, strict=True):
        results[k] = fd
    return results


def jax_values_many(batch: list[Arguments]) -> list[JaxValues | None]:
    """:class:`~gradcheck.checking.jax_values.JaxValues` of every network of ``batch`` that has
    a padded JAX layout (None for the others), float64 references for those in another dtype."""
    padded = [k for k, (spec, *_) in enumerate(batch) if oracles.has_padded_layout(spec)]
    found = oracles.jax_loss_and_grads_many([batch[k] for k in padded])
    narrow = [k for k in padded if batch[k][0].dtype != np.float64]
    wide = oracles.jax_loss_and_grads_many([batch[k] for k in narrow], dtype="float64")
    grads64 = {k: grads for k, (_, grads) in zip(narrow, wide, strict=True)}
    values: list[JaxValues | None] = [None] * len(batch)
    for k, (loss, grads) in zip(padded, found, strict=True):
        values[k] = JaxValues(loss, grads, grads64.get(k))
    return values
