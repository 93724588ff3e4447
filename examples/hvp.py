"""Hessian-vector products: H(x) v without forming the Hessian H.

f(x) = sum(x^4) / 4 + x^T A x / 2 + sum(sin(x)) has the Hessian diag(3 x^2 - sin(x)) + A, so
the product can be checked exactly. `sourcediff.hvp(f)(x, v)` computes it by forward mode over
the generated gradient code, exact to rounding; the example compares it with central
differences of the gradient, (grad f(x + h v) - grad f(x - h v)) / 2h, which are off by about
1e-9. A few conjugate-gradient iterations then solve the Newton system H p = -grad f(x) using
only Hessian-vector products.

    python examples/hvp.py
"""

import numpy as np

import sourcediff

A = np.array([[2.0, 0.5, 0.0, 0.0],
              [0.5, 3.0, 0.5, 0.0],
              [0.0, 0.5, 4.0, 0.5],
              [0.0, 0.0, 0.5, 5.0]])


def f(x):
    return np.sum(x ** 4) / 4.0 + 0.5 * (x @ (A @ x)) + np.sum(np.sin(x))


def hessian_exact(x):
    return np.diag(3.0 * x ** 2 - np.sin(x)) + A


def fd_hvp(x, v, h=1e-5):
    """H(x) v by central differences of the gradient along v."""
    grad_f = sourcediff.grad(f)
    return (grad_f(x + h * v) - grad_f(x - h * v)) / (2.0 * h)


def conjugate_gradient(matvec, b, iterations=20, tol=1e-12):
    """Solve M p = b for symmetric positive definite M given only p -> M p."""
    p = np.zeros_like(b)
    r = b.copy()
    d = r.copy()
    for _ in range(iterations):
        if np.sqrt(r @ r) <= tol * np.sqrt(b @ b):
            break
        Md = matvec(d)
        curvature = d @ Md
        if curvature <= 0.0:
            break
        alpha = (r @ r) / curvature
        p = p + alpha * d
        r_new = r - alpha * Md
        d = r_new + ((r_new @ r_new) / (r @ r)) * d
        r = r_new
    return p


def main():
    hvp = sourcediff.hvp(f)
    print("Hessian-vector products by sourcediff.hvp (forward mode over the reverse-mode "
          "gradient)")
    tol = 1e-10
    x = np.array([0.3, -0.7, 1.1, 0.2])
    v = np.array([1.0, 2.0, -1.0, 0.5])
    product = hvp(x, v)
    exact = hessian_exact(x) @ v
    print(f"H(x) v          = {np.round(product, 10)}")
    print(f"exact           = {np.round(exact, 10)}")
    error = np.max(np.abs(product - exact))
    print(f"max difference  = {error:.1e}")
    assert error < tol
    fd_error = np.max(np.abs(fd_hvp(x, v) - exact))
    print(f"central differences of the gradient: max difference {fd_error:.0e}")
    assert fd_error < 1e-5

    # a Newton step from x, solving H p = -g with conjugate gradients on hvp
    g = sourcediff.grad(f)(x)
    step = conjugate_gradient(lambda d: hvp(x, d), -g)
    direct = np.linalg.solve(hessian_exact(x), -g)
    print(f"Newton step by CG on hvp: {np.round(step, 8)}")
    print(f"by np.linalg.solve:       {np.round(direct, 8)}")
    assert np.allclose(step, direct, rtol=0.0, atol=tol)
    for it in range(5):
        g = sourcediff.grad(f)(x)
        print(f"newton iteration {it}: f(x) = {f(x):.12f}  |grad| = {np.linalg.norm(g):.1e}")
        x = x + conjugate_gradient(lambda d, x=x: hvp(x, d), -g)


if __name__ == "__main__":
    main()
