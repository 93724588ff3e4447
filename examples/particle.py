"""A charged particle in a potential, its force the gradient of that potential, and the
derivative of where it ends up with respect to a control charge.

The particle moves in the plane under U(r) = q / |r - c| + 0.5 k |r|^2 (a charge q at c plus a
spring to the origin). Its force is -grad(U) computed by sourcediff inside the time-stepping
loop; the final distance to a target is then differentiated with respect to q, in reverse mode
(reverse over reverse) and in forward mode (forward over reverse), and q is tuned by gradient
descent on the squared distance. Run:

    python examples/particle.py
"""

import numpy as np

import sourcediff

CENTER = np.array([1.0, 0.0])
TARGET = np.array([-0.3, 0.6])


def potential(r, q):
    d = r - CENTER
    return q / np.sqrt(np.sum(d * d)) + 0.5 * 0.8 * np.sum(r * r)


force_field = sourcediff.grad(potential, wrt="r")


def final_distance(q, steps=200, dt=0.01):
    """Semi-implicit Euler for `steps` steps from rest at (0, 1); the distance to TARGET."""
    r = np.array([0.0, 1.0])
    v = np.array([0.4, 0.0])
    for _ in range(steps):
        v = v - dt * force_field(r, q)
        r = r + dt * v
    d = r - TARGET
    return np.sqrt(np.sum(d * d))


def main():
    q = 0.3
    reverse = sourcediff.grad(final_distance)
    forward = sourcediff.grad(final_distance, mode="forward")
    h = 1e-6
    fd = (final_distance(q + h) - final_distance(q - h)) / (2 * h)
    print(f"distance at q = {q}: {final_distance(q):.10f}")
    print(f"d distance / dq, reverse over reverse: {reverse(q):+.10f}")
    print(f"d distance / dq, forward over reverse: {forward(q):+.10f}")
    print(f"central differences:                   {fd:+.10f}")
    print(f"max |derivative - central differences| = "
          f"{max(abs(reverse(q) - fd), abs(forward(q) - fd)):.2e}")
    # gradient descent on the squared distance
    slope = sourcediff.grad(lambda c: 0.5 * final_distance(c) ** 2)
    for step in range(31):
        if step % 5 == 0:
            print(f"step {step:2d}: q = {q:+.8f}  distance = {final_distance(q):.8f}")
        q = q - 0.5 * slope(q)


if __name__ == "__main__":
    main()
