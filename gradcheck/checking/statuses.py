"""What a compared entry can be found to be: the statuses, what each means, which ones fail.

Every entry of a verdict gets one :data:`STATUSES` code; :data:`STATUS_MEANINGS` says what each
means for people (the CLI, the report and the README use it); a verdict fails on the statuses
in :data:`FAILING`, and the others but ``ok`` are reported, never silently passed.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

__all__ = ["FAILING", "FAILS", "STATUSES", "STATUS_MEANINGS", "WARNED", "Status"]

Status = Literal[
    "ok",
    "backprop-bug",
    "fd-artefact",
    "precision-limited",
    "non-differentiable here",
    "structure",
    "dtype-mismatch",
    "oracle-disagreement",
    "unresolved",
]
STATUSES: tuple[Status, ...] = get_args(Status)
STATUS_MEANINGS: dict[Status, str] = {
    "ok": "hand agrees with JAX and with finite differences",
    "backprop-bug": "JAX and finite differences agree with each other, not with hand",
    "fd-artefact": "hand agrees with JAX; finite differences are off (reported, not failed)",
    "precision-limited": "hand is off JAX by less than the dtype's rounding can resolve",
    "non-differentiable here": "the FD stencil crosses a kink; hand is a valid subgradient",
    "structure": "a whole group missing, misshapen, not numeric, frozen, or never returned",
    "dtype-mismatch": "in a narrower dtype than the network's; right at that dtype's tolerance",
    "oracle-disagreement": "hand agrees with finite differences, JAX with neither",
    "unresolved": "hand, JAX and finite differences all disagree",
}
# A verdict fails on these; the other statuses but "ok" are reported, not failed.
FAILING: frozenset[str] = frozenset(
    {"backprop-bug", "structure", "dtype-mismatch", "oracle-disagreement", "unresolved"}
)
WARNED = ("fd-artefact", "precision-limited", "non-differentiable here")
# indexed by status code: whether that status fails (``FAILS[codes]`` marks the failing entries)
FAILS = np.array([name in FAILING for name in STATUSES])
