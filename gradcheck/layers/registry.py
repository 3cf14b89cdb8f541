"""One registry per side and concept: a name maps to that side's own implementation.

Every concept gradcheck interprets by name (a layer kind, an activation, a loss, an update rule)
is declared once in :mod:`gradcheck.layers`; each independent side (the hand-derived NumPy code,
the finite-difference oracle, the JAX network, the error model, the network generator) keeps its
own :class:`Registry` of implementations under the same names. A lookup of a name the side does
not have raises :class:`UnknownName`; nothing falls back to another function. The completeness
test holds every registry equal to the declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from gradcheck.errors import GradcheckError

__all__ = ["Registry", "UnknownName"]

T = TypeVar("T")


class UnknownName(GradcheckError, LookupError):
    """A name no registry entry answers to: ``str(err)`` names the side, the concept, the name and
    the names it does have."""


class Registry(Generic[T]):
    """``name -> implementation`` for one ``concept`` on one ``side``; add each name once."""

    def __init__(self, side: str, concept: str) -> None:
        self.side = side
        self.concept = concept
        self._entries: dict[str, T] = {}

    def add(self, name: str, implementation: T) -> T:
        """Register ``implementation`` under ``name``; a second registration of a name raises."""
        if name in self._entries:
            raise GradcheckError(f"{self.side}: {self.concept} {name!r} is registered twice")
        self._entries[name] = implementation
        return implementation

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""
        return lambda implementation: self.add(name, implementation)

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownName(
                f"{self.side}: no {self.concept} named {name!r} (registered: {known})"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def names(self) -> frozenset[str]:
        return frozenset(self._entries)

    def in_order(self, names: Iterable[str]) -> list[T]:
        """The implementations of ``names``, in that order (each looked up, so each may raise)."""
        return [self[name] for name in names]

    def __repr__(self) -> str:
        return f"Registry({self.side!r}, {self.concept!r}, {sorted(self._entries)})"
