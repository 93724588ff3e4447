"""Newton's method with derivatives from sourcediff.

Finds the real root of Wallis's cubic x^3 - 2x - 5 (the equation Newton himself used), the
points where tanh(x) = x / 3, and the minimum of a smooth function (Newton on its gradient,
with the second derivative from differentiating the generated gradient again when sourcediff
supports it).

    python examples/newton.py
"""

import math

import sourcediff


def wallis(x):
    return x ** 3 - 2.0 * x - 5.0


def crossing(x):
    return math.tanh(x) - x / 3.0


def energy(x):
    return math.cosh(x - 1.0) + 0.5 * x * x


def newton(f, x, tol=1e-13, max_steps=50, df=None):
    """The root of f near x; prints each step."""
    df = df or sourcediff.grad(f)
    for step in range(max_steps):
        fx = f(x)
        print(f"  step {step}: x = {x:.15f}  f(x) = {fx:+.3e}")
        if abs(fx) < tol:
            return x
        x = x - fx / df(x)
    raise RuntimeError(f"Newton's method did not converge from {x}")


def main():
    print("root of x^3 - 2x - 5:")
    root = newton(wallis, 2.0)
    print(f"  -> {root!r}  (Wallis: 2.0945514815423265...)")
    assert abs(root - 2.0945514815423265) < 1e-12

    print("positive solution of tanh(x) = x / 3:")
    root = newton(crossing, 3.0)
    assert abs(math.tanh(root) - root / 3.0) < 1e-12

    print("minimum of cosh(x - 1) + x^2 / 2 (Newton on the derivative):")
    d_energy = sourcediff.grad(energy)
    try:
        d2_energy = sourcediff.grad(d_energy)
        d2_energy(0.0)
        how = "sourcediff.grad(sourcediff.grad(energy))"
    except (sourcediff.SourceDiffError, TypeError):
        def d2_energy(x, h=1e-6):
            return (d_energy(x + h) - d_energy(x - h)) / (2.0 * h)
        how = "finite differences of the gradient (nested grad is not available)"
    print(f"  second derivative by {how}")
    xmin = newton(d_energy, 0.0, tol=1e-12, df=d2_energy)
    print(f"  -> minimum at x = {xmin!r}, where sinh(x - 1) + x = "
          f"{math.sinh(xmin - 1.0) + xmin:.1e}")


if __name__ == "__main__":
    main()
