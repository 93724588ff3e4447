"""Every script in examples/ runs to completion and prints what it promises."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
SCRIPTS = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))


def run_example(name, *python_args):
    return subprocess.run([sys.executable, *python_args, os.path.join(EXAMPLES, name)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.quick
def test_the_examples_are_there():
    for name in ("quadratic.py", "logistic_regression.py", "mlp.py", "ode.py", "newton.py",
                 "hvp.py", "parallel_logreg.py"):
        assert name in SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs(name):
    done = run_example(name)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "Traceback" not in done.stderr


@pytest.mark.quick
def test_quadratic_prints_the_derivative():
    done = run_example("quadratic.py")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    value = float(re.match(r"f'\(1\.3\) = (\S+)", first).group(1))
    assert abs(value - (2 * 1.3 - 3)) <= 1e-12      # d/dx (x^2 - 3x - 2) = 2x - 3
    assert "def grad_f(x):" in done.stdout


def test_hvp_uses_sourcediff_hvp():
    """hvp.py computes H(x) v with `sourcediff.hvp`, exactly (to rounding), and shows central
    differences of the gradient being less accurate."""
    done = run_example("hvp.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Hessian-vector products by sourcediff.hvp")
    exact = float(re.search(r"^max difference  = (\S+)$", done.stdout, re.M).group(1))
    fd = float(re.search(r"^central differences of the gradient: max difference (\S+)$",
                         done.stdout, re.M).group(1))
    assert exact <= 1e-13 < fd
