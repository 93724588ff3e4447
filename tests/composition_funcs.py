"""Functions for tests/test_composition.py (the compiler reads their source)."""

import math

import numpy as np


def quartic_wave(x):
    return x ** 4 + math.sin(x) * x


def looped_power(x, n):
    p = 1.0
    for _ in range(n):
        p = p * x
    return p


def branchy(x):
    if x > 0.0:
        return x ** 3
    return math.exp(x)


def array_energy(x):
    return np.sum(np.sin(x) * x ** 2)
