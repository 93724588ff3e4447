"""The seed example: the derivative of a quadratic, and the code sourcediff writes for it.

    python examples/quadratic.py
    sourcediff show examples/quadratic.py:f
"""

import sourcediff


def f(x):
    return x ** 2 - 3 * x - 2


if __name__ == "__main__":
    df = sourcediff.grad(f)
    print(f"f'(1.3) = {df(1.3)!r}   (exact: 2 * 1.3 - 3 = -0.4)")
    print()
    print(df.source)
