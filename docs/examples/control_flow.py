"""Small functions docs/how-it-works.md uses to show how jumps and loops are compiled."""

import numpy as np


def first_squares(xs, limit):
    total = 0.0
    for v in xs:
        if v > limit:
            break
        total = total + v * v
    return total


def halvings(x):
    n = 0
    while x > 1.0:
        x = x / 2.0
        n = n + 1
    return x * n


def skip_and_stop(x, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 1:
            continue
        if s > 10.0:
            return s
        s = s + x * i
    return s


def spring_energy(x, k):
    return np.sum(0.5 * k * x ** 2)


def iterate(x, n):
    for _ in range(n):
        x = 0.5 * x * x + x
    return x
