"""Training: the XLA-compiled JAX loop (``jit`` over ``lax.scan``) and the NumPy loop beside it."""
