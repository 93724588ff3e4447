"""Differentiating through an ODE solver: a damped oscillator integrated with Euler steps.

    x'' = -k x - c x',   x(0) = 1, x'(0) = 0

`final_position(c)` runs the integration loop; sourcediff differentiates straight through the
loop to give d x(T) / d c, the sensitivity of the final position to the damping. The example
compares it with finite differences, and with the solution of the sensitivity ODE (the
derivative of the equations with respect to c, integrated alongside with the same Euler steps),
then uses the gradient to fit the damping to a target position.

    python examples/ode.py
"""

import numpy as np

import sourcediff


def final_position(c, k=4.0, T=3.0, steps=300):
    dt = T / steps
    x = 1.0
    v = 0.0
    for _ in range(steps):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x


def sensitivity(c, k=4.0, T=3.0, steps=300):
    """d x(T) / d c from the sensitivity equations, integrated with the same Euler steps."""
    dt = T / steps
    x, v, sx, sv = 1.0, 0.0, 0.0, 0.0
    for _ in range(steps):
        a = -k * x - c * v
        sa = -k * sx - v - c * sv
        x, v, sx, sv = x + dt * v, v + dt * a, sx + dt * sv, sv + dt * sa
    return sx


def main():
    dxdc = sourcediff.grad(final_position)
    c = 0.5
    h = 1e-6
    fd = (final_position(c + h) - final_position(c - h)) / (2 * h)
    print(f"x(T) at c = {c}: {final_position(c):.6f}")
    print(f"d x(T)/dc  sourcediff (reverse): {dxdc(c):.10f}")
    print(f"           sourcediff (forward): "
          f"{sourcediff.grad(final_position, mode='forward')(c):.10f}")
    print(f"           sensitivity equations: {sensitivity(c):.10f}")
    print(f"           finite differences:    {fd:.10f}")
    assert np.isclose(dxdc(c), sensitivity(c), rtol=1e-9, atol=1e-12)

    # fit the damping so that x(T) hits a target, by Newton's method on x(T; c) - target
    target = 0.1
    for it in range(6):
        residual = final_position(c) - target
        print(f"fit step {it}: c = {c:.8f}  x(T) - target = {residual:+.2e}")
        c = c - residual / dxdc(c)


if __name__ == "__main__":
    main()
