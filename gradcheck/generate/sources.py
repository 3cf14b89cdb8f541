"""Where a drawn network's choices come from: Hypothesis draws or a seeded NumPy generator.

Contract: both sources answer the same :class:`Source` questions. Hypothesis choices shrink
toward the first option and the smallest value, and ``many`` lets the shrinker delete any
element whole; the NumPy source draws uniformly and rejects a case by raising :class:`Redraw`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Protocol, TypeVar

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from numpy.typing import NDArray

__all__ = ["HypothesisSource", "NumpySource", "Redraw", "Source"]

T = TypeVar("T")


class Source(Protocol):
    """Where choices come from: Hypothesis draws (shrinkable) or a seeded NumPy generator."""

    def integer(self, lo: int, hi: int) -> int: ...
    def choice(self, options: Sequence[T]) -> T: ...
    def words(self, count: int) -> NDArray[np.uint16]: ...
    def many(self, lo: int, hi: int, element: Callable[[Source], T]) -> list[T]: ...
    def reject(self) -> None: ...


class HypothesisSource:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return lo if lo == hi else self.draw(_integers(lo, hi))

    def choice(self, options: Sequence[T]) -> T:
        return (
            options[self.draw(_integers(0, len(options) - 1))] if len(options) > 1 else options[0]
        )

    def words(self, count: int) -> NDArray[np.uint16]:
        raw = self.draw(_binary(2 * count)) if count else b""
        return np.frombuffer(raw, dtype=">u2").astype(np.uint16)

    def many(self, lo: int, hi: int, element: Callable[[Source], T]) -> list[T]:
        # A "one more?" choice before every element (required ones included) and after the
        # last (even at ``hi``): every element is the same run of choices ending where the next
        # "one more?" starts, so the shrinker can delete any one of them whole.
        items: list[T] = []
        while True:
            more = self.draw(_MORE) != 0
            if len(items) == hi or (len(items) >= lo and not more):
                return items
            items.append(element(self))

    def reject(self) -> None:
        assume(False)


class Redraw(Exception):
    """The NumPy source's way to start a case again (Hypothesis rejects with ``assume``)."""


class NumpySource:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def choice(self, options: Sequence[T]) -> T:
        return options[int(self.rng.integers(len(options)))]

    def words(self, count: int) -> NDArray[np.uint16]:
        return self.rng.integers(0, 1 << 16, size=count, dtype=np.uint16)

    def many(self, lo: int, hi: int, element: Callable[[Source], T]) -> list[T]:
        return [element(self) for _ in range(self.integer(lo, hi))]

    def reject(self) -> None:
        raise Redraw


@cache
def _integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


# "One more element?" continues two times in three, so depths and batch sizes spread over
# their range (a fair coin would make most networks one layer deep); 0 shrinks to "stop".
_MORE = st.integers(0, 2)


@cache
def _binary(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=size, max_size=size)
