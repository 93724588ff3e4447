"""Data-parallel logistic regression: one gradient descent, run serially and on a Dask cluster.

The data is split into shards. Each step adds up the shards' gradients with
`sourcediff.parallel.grad_sum`: first here, one shard after the other, then on a local Dask
cluster of two worker processes, where each worker compiles the derivative of `loss` (from its
source, which travels with it) on its first task and reuses it afterwards. Both runs print their
loss curves, which are the same.

    python examples/parallel_logreg.py

Without Dask (pip install "sourcediff[dask]") only the serial run is made.
"""

import importlib.util

import numpy as np

import sourcediff
from sourcediff.parallel import grad_sum


def loss(w, X, y):
    """Summed binary cross-entropy of labels y in {0, 1}: log(1 + exp(-s)) with s = +z for
    y = 1 and s = -z for y = 0, z = X w. A sum, so the gradient of all the data is the sum of
    the shards' gradients."""
    s = (2.0 * y - 1.0) * (X @ w)
    return np.sum(np.logaddexp(0.0, -s))


dloss = sourcediff.grad(loss)


def make_shards(n=4000, n_shards=4, seed=0):
    """Labels from a known model; the last column of X is 1 (the bias)."""
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.normal(size=(n, 3)), np.ones((n, 1))])
    p = 1.0 / (1.0 + np.exp(-(X @ np.array([1.5, -2.0, 0.5, 0.3]))))
    y = (rng.uniform(size=n) < p).astype(float)
    return list(zip(np.array_split(X, n_shards), np.array_split(y, n_shards)))


def train(shards, data, steps=12, lr=2.0, client=None):
    """Gradient descent on the mean loss; `data` is what grad_sum gets (the shards, or futures
    of them on the cluster). Returns the mean loss before each step and after the last."""
    n = sum(len(y) for _, y in shards)
    w = np.zeros(shards[0][0].shape[1])
    curve = []
    for _ in range(steps):
        curve.append(sum(loss(w, X, y) for X, y in shards) / n)
        w = w - lr * grad_sum(dloss, w, shards=data, client=client) / n
    curve.append(sum(loss(w, X, y) for X, y in shards) / n)
    return curve, w


def main():
    shards = make_shards()
    serial, w = train(shards, shards)
    if importlib.util.find_spec("distributed") is None:
        print("step  serial loss")
        for step, value in enumerate(serial):
            print(f"{step:4d}  {value:.12f}")
        print('Dask is not installed (pip install "sourcediff[dask]"): skipped the Dask run')
        return
    from distributed import Client, LocalCluster

    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        data = client.scatter(shards)     # each shard goes to a worker once, not every step
        distributed, w_dask = train(shards, data, client=client)
    print(f"{len(shards)} shards of {len(shards[0][1])} rows; 2 Dask worker processes")
    print("step  serial loss     Dask loss       difference")
    for step, (a, b) in enumerate(zip(serial, distributed)):
        print(f"{step:4d}  {a:.12f}  {b:.12f}  {abs(a - b):.1e}")
    gap = max(abs(a - b) for a, b in zip(serial, distributed))
    print(f"largest difference between the curves: {gap:.1e}")
    print(f"learned w = {np.round(w_dask, 3)}   (data made with w = [1.5, -2, 0.5, 0.3])")
    assert gap <= 1e-12 and np.allclose(w, w_dask, rtol=0, atol=1e-12)


if __name__ == "__main__":
    main()
