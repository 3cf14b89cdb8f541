"""Golden cases: every number a document prints, recomputed and judged on its printed digits."""
