"""Seeded random inputs shared by the test corpora."""

import numpy as np


class Inputs:
    """normal/uniform/away_from draws from one seeded generator (the same sequence every run)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def normal(self, *shape, scale=1.0):
        return self.rng.normal(0.0, scale, size=shape)

    def uniform(self, lo, hi, *shape):
        return self.rng.uniform(lo, hi, size=shape)

    def away_from(self, kink, *shape, margin=0.1, spread=1.0):
        """Random values at distance in [margin, margin + spread] from ``kink``, random side."""
        sign = np.where(self.rng.random(shape) < 0.5, -1.0, 1.0)
        return kink + sign * (margin + spread * self.rng.random(shape))
