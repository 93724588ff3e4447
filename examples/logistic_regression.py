"""Logistic regression trained by gradient descent, with the gradient from sourcediff.

The loss takes the parameters as separate arguments, `w` and `b`, and `grad(loss, wrt=(0, 1))`
returns the pair of gradients. At the end the gradient is checked against the closed form
X^T (p - y) / n.

    python examples/logistic_regression.py
"""

import numpy as np

import sourcediff


def loss(w, b, X, y):
    """Mean binary cross-entropy of labels y in {0, 1}, in a numerically stable form:
    log(1 + exp(-s)) with s = +z for y = 1 and s = -z for y = 0."""
    z = X @ w + b
    s = (2.0 * y - 1.0) * z
    return np.mean(np.logaddexp(0.0, -s))


def make_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    true_w, true_b = np.array([2.0, -3.0]), 0.5
    p = 1.0 / (1.0 + np.exp(-(X @ true_w + true_b)))
    y = (rng.uniform(size=n) < p).astype(float)
    return X, y


def train(X, y, steps=300, lr=0.5):
    dloss = sourcediff.grad(loss, wrt=(0, 1))
    w, b = np.zeros(X.shape[1]), 0.0
    for step in range(steps + 1):
        if step % 50 == 0:
            accuracy = np.mean(((X @ w + b) > 0) == (y > 0.5))
            print(f"step {step:3d}  loss {loss(w, b, X, y):.4f}  accuracy {accuracy:.3f}")
        dw, db = dloss(w, b, X, y)
        w, b = w - lr * dw, b - lr * db
    return w, b


def main():
    X, y = make_data()
    w, b = train(X, y)
    print(f"learned w = {np.round(w, 3)}, b = {b:.3f}   (data made with w = [2, -3], b = 0.5)")
    dw, db = sourcediff.grad(loss, wrt=(0, 1))(w, b, X, y)
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    closed_w, closed_b = X.T @ (p - y) / len(y), np.mean(p - y)
    error = max(np.max(np.abs(dw - closed_w)), abs(db - closed_b))
    print(f"gradient vs closed form X^T(p - y)/n: max difference {error:.2e}")
    assert error < 1e-10


if __name__ == "__main__":
    main()
