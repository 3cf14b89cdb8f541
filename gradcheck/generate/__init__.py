"""Generated networks: the public Hypothesis strategies and the replayable :class:`Case`."""
