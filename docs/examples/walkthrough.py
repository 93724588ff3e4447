"""The function docs/how-it-works.md follows through every compiler pass."""

import numpy as np


def walk(x, steps):
    ys = []
    for _ in range(steps):
        if x > 1.0:
            x = x / 2
        else:
            x = 3 * x * x
        ys.append(x)
    return np.sum([y * y for y in ys])
