"""The code under test: backpropagation derived by hand, in NumPy only.

Every derivative is written out: activations in :mod:`~gradcheck.hand.activations`, losses in
:mod:`~gradcheck.hand.losses`, layer kinds in :mod:`~gradcheck.hand.dense`, the delta rule over
a network in :mod:`~gradcheck.hand.backprop`, SGD in :mod:`~gradcheck.hand.training`. Nothing
here imports JAX or the oracles, and nothing in the oracles imports this package, so a bug here
cannot hide in a helper they share.
"""

from gradcheck.hand.backprop import (
    Backward,
    Forward,
    backward,
    forward,
    full_params,
    hand_grads,
    loss_value,
)
from gradcheck.hand.training import sgd_step, train_numpy

__all__ = [
    "Backward",
    "Forward",
    "backward",
    "forward",
    "full_params",
    "hand_grads",
    "loss_value",
    "sgd_step",
    "train_numpy",
]
