"""A two-layer tanh MLP classifier trained with gradients from sourcediff.

The softmax cross-entropy subtracts each row's maximum from the logits so that `exp` cannot
overflow (subtracting any shift c leaves log-sum-exp unchanged: logsumexp(z) = c +
log(sum(exp(z - c))), and its gradient too). The maximum comes from `row_max`, a helper of our
own with a loop of `np.maximum` over the columns, to show a call to your own function being
differentiated (through the derivative sourcediff generates for `row_max`);
`np.max(z, axis=1, keepdims=True)` has a rule as well and gives the same loss and gradients.

    python examples/mlp.py
"""

import numpy as np

import sourcediff


def row_max(z):
    """The maximum of each row of z, as a column (what np.max(z, axis=1, keepdims=True) is)."""
    m = z[:, 0:1]
    for j in range(1, z.shape[1]):
        m = np.maximum(m, z[:, j:j + 1])
    return m


def loss(W1, b1, W2, b2, X, Y):
    """Mean softmax cross-entropy of the MLP's logits against one-hot labels Y."""
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    shift = row_max(logits)
    logsumexp = shift + np.log(np.sum(np.exp(logits - shift), axis=1, keepdims=True))
    return np.mean(np.sum(Y * (logsumexp - logits), axis=1))


def predict(W1, b1, W2, b2, X):
    return np.argmax(np.tanh(X @ W1 + b1) @ W2 + b2, axis=1)


def spirals(n_per_class=60, classes=3, seed=0):
    """Points on interleaved spiral arms, one arm per class."""
    rng = np.random.default_rng(seed)
    X, labels = [], []
    for k in range(classes):
        r = np.linspace(0.1, 1.0, n_per_class)
        t = np.linspace(k * 4.0, (k + 1) * 4.0, n_per_class) + rng.normal(0, 0.2, n_per_class)
        X.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        labels.append(np.full(n_per_class, k))
    labels = np.concatenate(labels)
    return np.concatenate(X), np.eye(classes)[labels], labels


def check_gradient(params, X, Y):
    """Compare one entry of each gradient with a central finite difference."""
    grads = sourcediff.grad(loss, wrt=(0, 1, 2, 3))(*params, X, Y)
    worst = 0.0
    for i, (p, g) in enumerate(zip(params, grads)):
        index = (0,) * p.ndim
        h = 1e-6
        up = [q.copy() for q in params]
        down = [q.copy() for q in params]
        up[i][index] += h
        down[i][index] -= h
        fd = (loss(*up, X, Y) - loss(*down, X, Y)) / (2 * h)
        worst = max(worst, abs(fd - g[index]))
    return worst


def main(steps=300, lr=1.0, hidden=32):
    X, Y, labels = spirals()
    rng = np.random.default_rng(1)
    params = [rng.normal(0, 1.0, (2, hidden)), np.zeros(hidden),
              rng.normal(0, 1.0 / np.sqrt(hidden), (hidden, 3)), np.zeros(3)]
    print(f"gradient check (sourcediff vs finite differences): max error "
          f"{check_gradient(params, X, Y):.1e}")
    dloss = sourcediff.grad(loss, wrt=(0, 1, 2, 3))
    for step in range(steps + 1):
        if step % 100 == 0:
            accuracy = np.mean(predict(*params, X) == labels)
            print(f"step {step:3d}  loss {loss(*params, X, Y):.4f}  accuracy {accuracy:.2f}")
        grads = dloss(*params, X, Y)
        params = [p - lr * g for p, g in zip(params, grads)]
    # the loss stays finite for huge logits, where a naive log(sum(exp(z))) overflows
    big = [p * 1000.0 for p in params]
    print(f"loss with every weight scaled by 1000: {loss(*big, X, Y):.1f} (finite: "
          f"{np.isfinite(loss(*big, X, Y))})")


if __name__ == "__main__":
    main()
