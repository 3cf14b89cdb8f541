"""How a training run is cut into compiled calls: fixed chunks, or calls sized by time.

An untimed run makes one call per segment (:func:`segments`); a timed run (``chunk_seconds``)
sizes each call from the speed of the one before (:func:`timed_calls`), so a long run reports
progress and honours Ctrl-C between calls. A call is ``(records, steps per record, whether its
losses are history)``.
"""

from __future__ import annotations

import math
from collections.abc import Generator

from gradcheck.spec import Spec

__all__ = ["CALL_RECORDS", "Call", "first_call", "fixed_calls", "segments", "timed_calls"]

# A timed run (``chunk_seconds``) starts with a call of about this much work (steps x samples x
# parameters: a few milliseconds), then sizes each call from the speed of the one before, growing
# at most tenfold a call. One call records at most CALL_RECORDS losses (its output's length).
FIRST_CALL_WORK = 10**6
CALL_RECORDS = 1024
INT32_MAX = 2**31 - 1  # the step counts go in as int32


def segments(steps: int, every: int, chunks: int) -> list[tuple[int, int]]:
    """``(records, steps per record)`` per compiled call: equal chunks of whole records, any
    leftover records, then one short record when ``every`` does not divide ``steps``."""
    full, rest = divmod(steps, every)
    per_chunk = max(1, math.ceil(full / chunks))
    segments = [(per_chunk, every)] * (full // per_chunk)
    if full % per_chunk:
        segments.append((full % per_chunk, every))
    if rest:
        segments.append((1, rest))
    return segments


Call = tuple[int, int, bool]  # records, steps per record, whether its losses are history


def first_call(spec: Spec) -> int:
    """Steps of a timed run's first call: about FIRST_CALL_WORK of work."""
    return max(1, FIRST_CALL_WORK // (len(spec.model.samples) * max(1, spec.n_params)))


def timed_calls(steps: int, every: int, seconds: float, first: int) -> Generator[Call, float, None]:
    """The calls of a timed run, each sent the seconds the one before took: whole records while
    a record takes less than ``seconds``, else pieces of one, only the first piece's loss kept
    (the loss before a record's first step); the first call runs ``first`` steps at most."""
    done, size = 0, first
    while done < steps:
        into, left = done % every, steps - done
        if into == 0 and every <= min(size, left):
            call = (min(size // every, left // every, CALL_RECORDS), every, True)
        else:
            call = (1, min(size, every - into, left), into == 0)
        took = yield call
        ran = call[0] * call[1]
        done += ran
        size = max(1, min(10 * ran, int(ran * seconds / max(took, 1e-6)), INT32_MAX))


def fixed_calls(segments: list[tuple[int, int]]) -> Generator[Call, float, None]:
    """The calls of an untimed run, one per segment, whatever time each took."""
    for n_records, every in segments:
        yield n_records, every, True
