"""A function that writes through views: the example of the aliasing pass in how-it-works.md."""

import numpy as np


def scale_rows(X, s):
    for r in X:
        r *= s
    return np.sum(X * X)
