"""A saddle point by nested gradient steps, differentiated end to end.

    min over x of max over y of  L(x, y) = sum(x * y) + 0.5 |x|^2 - 0.5 |y|^2 + 0.1 sum(sin(x) * y)

The inner player climbs in y with a few gradient-ascent steps that call `grad(L, wrt="y")`; the
outer objective F(x) = L(x, y_K(x)) is what the outer player descends, with `grad(F)`: reverse
mode over code that calls a reverse-mode gradient (reverse over reverse). Run:

    python examples/saddle.py
"""

import numpy as np

import sourcediff


def lagrangian(x, y):
    return np.sum(x * y) + 0.5 * np.sum(x * x) - 0.5 * np.sum(y * y) + 0.1 * np.sum(np.sin(x) * y)


dL_dy = sourcediff.grad(lagrangian, wrt="y")


def outer_objective(x, steps=20, rate=0.3):
    """L at the inner player's answer after `steps` ascent steps from y = 0."""
    y = np.zeros_like(x)
    for _ in range(steps):
        y = y + rate * dL_dy(x, y)
    return lagrangian(x, y)


def central_differences(f, x, h=1e-6):
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def main():
    x = np.array([0.8, -0.5, 1.2])
    dF = sourcediff.grad(outer_objective)
    dF_forward = sourcediff.grad(outer_objective, mode="forward")
    fd = central_differences(outer_objective, x)
    print("outer gradient, reverse over reverse:", np.round(dF(x), 8))
    print("outer gradient, forward over reverse:", np.round(dF_forward(x), 8))
    print(f"max |grad - central differences| = {np.max(np.abs(dF(x) - fd)):.2e}")
    print(f"max |reverse - forward|          = {np.max(np.abs(dF(x) - dF_forward(x))):.2e}")
    # the inner maximum is y* = x + 0.1 sin(x); F(x) = L(x, y*(x)) is least at the saddle x = 0
    for step in range(41):
        if step % 10 == 0:
            print(f"step {step:2d}: F = {outer_objective(x):+.8f}  |x| = {np.linalg.norm(x):.2e}")
        x = x - 0.25 * dF(x)


if __name__ == "__main__":
    main()
