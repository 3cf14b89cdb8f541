"""One-edit slips: a print that is a value's digits with one edit, named only where that is
evidence.

Any wrong print is "one edit" from the right digits when it has few of them: ``0.158`` for
``0.157`` is one digit changed, ``0.185`` for ``0.15`` one digit inserted. So a digit edit counts
as a typo only where the print keeps at least :data:`MIN_SHARED_DIGITS` significant digits of
the value besides the edit, and never in the last printed digit (a wrong last digit is
arithmetic or rounding, not a slip of the pen). A flipped sign or a lost decimal point keeps
every digit and counts from three digits on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction

from gradcheck.golden.printed import (
    at_places,
    decimals,
    exact_decimal,
    reproduces,
    significant_digits,
)

__all__ = ["MIN_SHARED_DIGITS", "typo"]

MIN_SHARED_DIGITS = 4


def _sig(text: str) -> int:
    return significant_digits(text)


def _place(s: str, i: int) -> str:
    """Where index ``i`` of the digit string ``s`` is, for people."""
    point = s.find(".")
    if point >= 0 and i > point:
        return f"decimal place {i - point}"
    digits_before = sum(c.isdigit() for c in s[:i])
    return f"digit {digits_before + 1}"


def _swap(p: str, s: str) -> str | None:
    if len(p) != len(s):
        return None
    diff = [i for i in range(len(p)) if p[i] != s[i]]
    if len(diff) != 2 or diff[1] != diff[0] + 1 or _sig(p) - 2 < MIN_SHARED_DIGITS:
        return None
    i, j = diff
    if not (p[i] == s[j] and p[j] == s[i] and p[i].isdigit() and p[j].isdigit()):
        return None
    return f"{_place(s, i)} and the next swapped"


def _dropped(p: str, s: str) -> str | None:
    if len(s) != len(p) + 1 or _sig(p) < MIN_SHARED_DIGITS:
        return None
    for i in range(len(s) - 1):  # dropping the last digit is a cut, not a typo
        if s[i].isdigit() and s[:i] + s[i + 1 :] == p:
            return f"the {s[i]} at {_place(s, i)} left out"
    return None


def _inserted(p: str, s: str) -> str | None:
    if len(p) != len(s) + 1 or _sig(s) < MIN_SHARED_DIGITS:
        return None
    for i in range(len(p) - 1):  # an extra last digit is a wrong last digit
        if p[i].isdigit() and p[:i] + p[i + 1 :] == s:
            return f"a {p[i]} inserted at {_place(p, i)}"
    return None


def _changed(p: str, s: str) -> str | None:
    if len(p) != len(s) or _sig(p) - 1 < MIN_SHARED_DIGITS:
        return None
    diff = [i for i in range(len(p)) if p[i] != s[i]]
    if len(diff) != 1 or diff[0] == len(p) - 1 or not p[diff[0]].isdigit():
        return None
    i = diff[0]
    return f"{p[i]} for {s[i]} at {_place(s, i)}"


def _flipped(p: str, s: str) -> str | None:
    if p != s and p.lstrip("-") == s.lstrip("-") and _sig(p) >= 3:
        return "only the sign differs"
    return None


def _without_point(s: str) -> str:
    sign, digits = ("-", s[1:]) if s.startswith("-") else ("", s)
    return sign + (digits.replace(".", "").lstrip("0") or "0")


def _pointless(p: str, s: str) -> str | None:
    if "." in s and _without_point(s) == p and _sig(p) >= 3:
        return "the digits are right"
    return None


Check = Callable[[str, str], str | None]
_EDITS: tuple[tuple[str, Callable[[int], Iterator[int]], Check], ...] = (
    ("the sign is flipped", lambda d: iter((d,)), _flipped),
    ("the decimal point is missing", lambda d: iter(range(1, 20) if d == 0 else ()), _pointless),
    ("two adjacent digits are swapped", lambda d: iter((d,)), _swap),
    ("a digit is dropped", lambda d: iter((d + 1,)), _dropped),
    ("a digit is inserted", lambda d: iter((d - 1,) if d else ()), _inserted),
    ("one digit differs", lambda d: iter((d,)), _changed),
)


def typo(printed: str, value: float | Fraction, source: str = "computed") -> str | None:
    """Name the one edit that turns ``value``'s digits (rounded or cut) into the print, with the
    numbers and where the edit is, e.g. ``a digit is dropped: computed 0.593269992 (rounded to 9
    decimals), printed 0.59326992 (the 9 at decimal place 8 left out)``; None when no edit fits
    or the edit is no evidence (see the module docstring). ``source`` names the value."""
    if not exact_decimal(value).is_finite() or reproduces(printed, value):
        return None
    d = decimals(printed)
    for what, places, fits in _EDITS:
        for k in places(d):
            for how, rounded in (("rounded", True), ("truncated", False)):
                s = f"{at_places(value, k, rounded):f}"
                if (detail := fits(printed, s)) is not None:
                    if what == "the decimal point is missing" and s.lstrip("-").startswith("0."):
                        what = "'0.' is missing"
                    shown = f"{source} {s} ({how} to {k} decimals)"
                    return f"{what}: {shown}, printed {printed} ({detail})"
    return None
