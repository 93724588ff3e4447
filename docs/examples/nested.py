"""An RNN step written as a nested function: the example of the iterators, nested and inline
passes in how-it-works.md."""

import numpy as np


def rnn(W, xs):
    def step(h, x):
        return np.tanh(W @ h + x)
    h = np.zeros(2)
    for x in xs:
        h = step(h, x)
    return np.sum(h) + sum(list(map(np.sum, xs)))
