"""The code under test: backpropagation derived by hand, in NumPy only.

Every derivative is written out. Nothing here imports JAX or the oracles, and nothing in the
oracles imports this package, so a bug here cannot hide in a helper they share.
"""
