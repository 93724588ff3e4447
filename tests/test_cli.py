"""The `sourcediff` command: show, rules, export, graph.

Most tests call `sourcediff.cli.main` in-process; the ones about processes (`python -m`,
determinism, exported modules running without sourcediff) start subprocesses.

The golden files in tests/golden/ hold the output of `sourcediff show examples/quadratic.py:f`.
After an intended change to the generated code, regenerate them with

    SOURCEDIFF_UPDATE_GOLDEN=1 python -m pytest tests/test_cli.py

and read the diff: `test_golden_code_is_the_derivative` checks that they still compute 2x - 3.
"""

import ast
import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from fd import assert_close, central_fd

import sourcediff
from sourcediff import cli, pipeline, runtime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
GOLDEN = os.path.join(ROOT, "tests", "golden")
QUADRATIC = os.path.join(EXAMPLES, "quadratic.py")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(argv, capsys):
    """(exit status, stdout, stderr) of `sourcediff ARGV`, in-process."""
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def run_process(args, cwd=ROOT, **kwargs):
    return subprocess.run([sys.executable, "-m", "sourcediff", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, **kwargs)


@pytest.fixture
def pyfile(tmp_path):
    """Write a module into tmp_path; returns its path."""
    def write(text, name="mod.py"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return str(path)
    return write


def line_of(path, needle):
    with open(path) as fh:
        for i, line in enumerate(fh, 1):
            if needle in line:
                return i
    raise AssertionError(f"{needle!r} not in {path}")


def assert_clean_error(status, out, err):
    assert status == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.strip()


# ---- show ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.quick
def test_show_matches_golden(mode, capsys):
    status, out, err = run(["show", f"{QUADRATIC}:f", "--mode", mode], capsys)
    assert status == 0, err
    path = os.path.join(GOLDEN, f"quadratic_{mode}.txt")
    if os.environ.get("SOURCEDIFF_UPDATE_GOLDEN"):
        with open(path, "w") as fh:
            fh.write(out)
    with open(path) as fh:
        golden = fh.read()
    assert out == golden, f"`sourcediff show` changed; see the module docstring\n{out}"


def _load_golden(mode):
    with open(os.path.join(GOLDEN, f"quadratic_{mode}.txt")) as fh:
        text = fh.read()
    namespace = {"_sd": runtime, "np": np}
    exec(compile(text, f"golden_{mode}", "exec"), namespace)
    return text, namespace


@pytest.mark.quick
def test_golden_code_is_the_derivative():
    """The stored code itself computes d/dx (x^2 - 3x - 2) = 2x - 3 (both modes)."""
    text, ns = _load_golden("reverse")
    assert "def grad_f(x):" in text
    for x in (-2.0, 0.0, 1.3, 7.25):
        assert ns["grad_f"](x) == pytest.approx(2 * x - 3, abs=1e-12)
    text, ns = _load_golden("forward")
    assert "def jvp_f(x, x_dot):" in text
    for x in (-2.0, 0.0, 1.3, 7.25):
        value, tangent = ns["jvp_f"](x, 0.5)
        assert value == pytest.approx(x ** 2 - 3 * x - 2, abs=1e-12)
        assert tangent == pytest.approx(0.5 * (2 * x - 3), abs=1e-12)


@pytest.mark.quick
def test_show_is_the_api_source(pyfile, capsys):
    path = pyfile("""
        import numpy as np

        def f(x, y, z):
            return np.sum(np.sin(x * y) + z ** 2)
    """)
    sys.path.insert(0, os.path.dirname(path))
    try:
        for wrt_text, wrt in (("y", "y"), ("0,2", (0, 2)), ("z,", ("z",)), ("-1", -1)):
            status, out, err = run(["show", f"{path}:f", "--wrt", wrt_text], capsys)
            assert status == 0, err
            mod = cli.load_module(path)
            assert out == sourcediff.grad(mod.f, wrt=wrt).source
    finally:
        sys.path.remove(os.path.dirname(path))
    status, out, _ = run(["show", f"{path}:f", "--wrt", "0,2"], capsys)
    assert "return (" in out      # a tuple of gradients


@pytest.mark.quick
def test_parse_wrt():
    assert cli.parse_wrt(None) == 0
    assert cli.parse_wrt("x") == "x"
    assert cli.parse_wrt("1") == 1
    assert cli.parse_wrt("x, 1") == ("x", 1)
    assert cli.parse_wrt("x,") == ("x",)
    for bad in ("", ",", "x,,y", "1x"):
        with pytest.raises(cli.CLIError):
            cli.parse_wrt(bad)


@pytest.mark.quick
def test_show_no_optimize_is_still_correct(capsys):
    status, out, err = run(["show", f"{QUADRATIC}:f", "--no-optimize"], capsys)
    assert status == 0, err
    ns = {"_sd": runtime}
    exec(out, ns)
    assert ns["grad_f"](1.3) == pytest.approx(2 * 1.3 - 3, abs=1e-12)


@pytest.mark.quick
def test_method_and_nested_function(pyfile, capsys):
    path = pyfile("""
        import numpy as np

        class Model:
            def loss(self, w):
                return np.sum(w ** 2)

            @staticmethod
            def cube(w):
                return w ** 3

        def outer(a):
            def inner(x):
                return x * a
            return inner
    """)
    status, out, err = run(["show", f"{path}:Model.loss"], capsys)
    assert status == 0, err
    assert "def grad_loss(self, w):" in out
    assert "dw" in out    # a method is differentiated with respect to its first non-self argument
    status, out, err = run(["show", f"{path}:Model.cube"], capsys)
    assert status == 0, err
    assert "def grad_cube(w):" in out
    status, out, err = run(["show", f"{path}:outer.inner"], capsys)
    assert_clean_error(status, out, err)
    assert "inside the function 'outer'" in err and "module level" in err
    status, out, err = run(["show", f"{path}:Model.nothing"], capsys)
    assert_clean_error(status, out, err)
    assert "Model" in err and "nothing" in err


# ---- errors -------------------------------------------------------------------------------------
@pytest.mark.quick
def test_missing_file(tmp_path, capsys):
    missing = str(tmp_path / "nope.py")
    status, out, err = run(["show", f"{missing}:f"], capsys)
    assert_clean_error(status, out, err)
    assert "no such file" in err and "nope.py" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.quick
def test_missing_function(pyfile, capsys):
    path = pyfile("def loss(x):\n    return x * x\n")
    status, out, err = run(["show", f"{path}:lost"], capsys)
    assert_clean_error(status, out, err)
    assert "'lost'" in err and "loss" in err     # suggests the close match
    assert len(err.strip().splitlines()) == 1


@pytest.mark.quick
def test_missing_colon(capsys):
    status, out, err = run(["show", QUADRATIC], capsys)
    assert_clean_error(status, out, err)
    assert "FILE.py:FUNCTION" in err


@pytest.mark.quick
def test_syntax_error(pyfile, capsys):
    path = pyfile("import numpy as np\n\ndef f(x)\n    return x\n")
    status, out, err = run(["show", f"{path}:f"], capsys)
    assert_clean_error(status, out, err)
    assert f"{path}:3" in err and "syntax error" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.quick
def test_exception_while_importing(pyfile, capsys):
    path = pyfile("def f(x):\n    return x\n\nraise RuntimeError('no data file')\n")
    status, out, err = run(["show", f"{path}:f"], capsys)
    assert_clean_error(status, out, err)
    assert f"{path}:4" in err and "RuntimeError: no data file" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.quick
def test_import_output_does_not_mix_with_the_code(pyfile, capsys):
    path = pyfile("print('hello from the module')\n\ndef f(x):\n    return x * x\n")
    status, out, err = run(["show", f"{path}:f"], capsys)
    assert status == 0
    assert "hello" not in out and "hello from the module" in err
    ast.parse(out)


@pytest.mark.quick
def test_non_differentiable_construct(pyfile, capsys):
    path = pyfile("""
        def f(x):
            with open("log.txt") as fh:
                fh.write("x")
            return x * 2.0
    """)
    status, out, err = run(["show", f"{path}:f"], capsys)
    assert_clean_error(status, out, err)
    assert f"{path}:{line_of(path, 'with open')}" in err
    assert "with" in err


@pytest.mark.quick
def test_bad_wrt(pyfile, capsys):
    path = pyfile("def f(x, y):\n    return x * y\n")
    status, out, err = run(["show", f"{path}:f", "--wrt", "z"], capsys)
    assert_clean_error(status, out, err)
    assert "'z'" in err and "x, y" in err


def test_errors_through_python_m(pyfile):
    path = pyfile("def f(x):\n    with open('a'):\n        pass\n    return x\n")
    done = run_process(["show", f"{path}:f"])
    assert done.returncode == 2
    assert f"{path}:2" in done.stderr and "Traceback" not in done.stderr
    done = run_process(["show", f"{path}:g"])
    assert done.returncode == 2 and "Traceback" not in done.stderr


# ---- --dump-after -------------------------------------------------------------------------------
OPS = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Compare, ast.Subscript, ast.BoolOp, ast.IfExp)


def _operations(node):
    """Operations in an expression; `np.sin` (a dotted function name) is not one, `x.T` is."""
    names = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    names |= {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    return sum(isinstance(n, OPS) or (isinstance(n, ast.Attribute) and id(n) not in names)
               for n in ast.walk(node))


@pytest.mark.quick
def test_dump_after_ssa_one_op_per_line(pyfile, capsys):
    path = pyfile("""
        import numpy as np

        def f(x, y):
            z = np.sin(x * y) + np.exp(-x) ** 2
            for i in range(3):
                if z > 0.5 * y:
                    z = z * np.cos(z + i)
            return z / (1.0 + x * x)
    """)
    status, out, err = run(["show", f"{path}:f", "--dump-after", "normalize"], capsys)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "def f(x, y):"
    ast.parse(out)
    body = [line.strip() for line in lines[1:] if line.strip()]
    assert len(body) >= 10
    for line in body:
        if line.endswith(":"):       # if/for/while/else headers test or iterate over a name
            if line != "else:":
                header = ast.parse(line + "\n    pass").body[0]
                test = getattr(header, "test", None) or header.iter
                assert _operations(test) <= 1, line
            continue
        stmt = ast.parse(line).body[0]
        value = getattr(stmt, "value", None)
        assert value is not None, line
        assert _operations(value) <= 1, f"more than one operation: {line}"
    # the dump is the normalized program the compiler works on
    src, _ = pipeline.prepare(cli.load_function(f"{path}:f")[0])
    from sourcediff import codegen
    assert out == "\n".join(codegen.render_function(src.tree)) + "\n"


@pytest.mark.parametrize("stage", ["parse", "fence", "desugar", "normalize", "ssa"])
@pytest.mark.quick
def test_dump_after_prepare_passes(stage, capsys):
    status, out, err = run(["show", f"{QUADRATIC}:f", "--dump-after", stage], capsys)
    assert status == 0, err
    tree = ast.parse(out)
    assert tree.body[0].name == "f"


@pytest.mark.quick
def test_ssa_is_the_old_name_of_normalize(capsys):
    _, new, _ = run(["show", f"{QUADRATIC}:f", "--dump-after", "normalize"], capsys)
    _, old, _ = run(["show", f"{QUADRATIC}:f", "--dump-after", "ssa"], capsys)
    assert old == new


@pytest.mark.quick
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_dump_after_generation_is_before_the_optimizer(mode, pyfile, capsys):
    """`--dump-after reverse|forward` prints the code as generated, `optimize` and `codegen`
    what the optimizer makes of it (plain `show`)."""
    path = pyfile("""
        import numpy as np

        def f(x):
            y = np.sin(x) * x
            return y * y + 3.0 * x
    """)
    shown = {}
    for stage in (mode, "optimize", "codegen"):
        status, shown[stage], err = run(["show", f"{path}:f", "--mode", mode,
                                         "--dump-after", stage], capsys)
        assert status == 0, err
    _, plain, _ = run(["show", f"{path}:f", "--mode", mode], capsys)
    _, unoptimized, _ = run(["show", f"{path}:f", "--mode", mode, "--no-optimize"], capsys)
    assert shown[mode] == unoptimized
    assert shown["optimize"] == shown["codegen"] == plain
    assert unoptimized != plain   # the optimizer folds the temporaries used once


@pytest.mark.quick
def test_dump_after_activity(pyfile, capsys):
    path = pyfile("""
        def f(x, y):
            a = x * 2.0
            b = y + 1.0
            return a * 3.0
    """)
    status, out, err = run(["show", f"{path}:f", "--dump-after", "activity"], capsys)
    assert status == 0, err
    assert "def f(x, y):" in out
    activity = out.strip().splitlines()[-1]
    assert "x:active" in activity
    assert "y:active" not in activity    # y does not reach the output


@pytest.mark.parametrize("stage", ["reverse", "forward"])
@pytest.mark.quick
def test_dump_after_final(stage, capsys):
    status, out, err = run(["show", f"{QUADRATIC}:f", "--mode", stage, "--dump-after",
                            "optimize"], capsys)
    assert status == 0, err
    with open(os.path.join(GOLDEN, f"quadratic_{stage}.txt")) as fh:
        assert out == fh.read()


@pytest.mark.quick
def test_dump_after_unknown_pass(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["show", f"{QUADRATIC}:f", "--dump-after", "nosuchpass"])
    assert exc.value.code == 2
    assert "nosuchpass" in capsys.readouterr().err


# ---- color --------------------------------------------------------------------------------------
def test_color_only_when_asked_or_on_a_terminal(capsys):
    status, plain, _ = run(["show", f"{QUADRATIC}:f"], capsys)
    assert status == 0 and not ANSI.search(plain)     # captured output is not a terminal
    status, colored, _ = run(["show", f"{QUADRATIC}:f", "--color", "always"], capsys)
    assert status == 0
    assert ANSI.search(colored)
    assert ANSI.sub("", colored) == plain
    assert "\x1b[1;35mdef\x1b[0m" in colored and "\x1b[1;35mreturn\x1b[0m" in colored
    done = run_process(["show", "examples/quadratic.py:f"])    # piped
    assert done.returncode == 0 and not ANSI.search(done.stdout)


@pytest.mark.quick
def test_highlight_keeps_the_text():
    text = ('def f(x):\n    # a comment\n    s = "str" + f"{x!r}"\n    return 1.5e3 if x else '
            "None\n")
    colored = cli.highlight(text)
    assert ANSI.sub("", colored) == text
    assert "\x1b[2;32m# a comment\x1b[0m" in colored
    assert '\x1b[33m"str"\x1b[0m' in colored
    assert "\x1b[36m1.5e3\x1b[0m" in colored
    assert cli.highlight("def (\n") == "def (\n"     # does not tokenize: unchanged


# ---- determinism, python -m ---------------------------------------------------------------------
def test_show_is_deterministic_across_processes():
    target = "examples/mlp.py:loss"
    first = run_process(["show", target, "--wrt", "0,1,2,3"])
    second = run_process(["show", target, "--wrt", "0,1,2,3"],
                         env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert "def grad_loss(" in first.stdout


# ---- rules --------------------------------------------------------------------------------------
@pytest.mark.quick
def test_rules(capsys):
    """`sourcediff rules` lists the user-facing functions; `--all` adds the runtime helpers
    generated code calls, and is the whole rule table."""
    status, out, _ = run(["rules"], capsys)
    assert status == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert rows["numpy.sin"] == ["reverse", "forward"]
    assert rows["math.exp"] == ["reverse", "forward"]
    assert rows["numpy.argmax"] == ["nondifferentiable"]
    assert not [name for name in rows if name.startswith("sourcediff.")]
    status, out_all, _ = run(["rules", "--all"], capsys)
    assert status == 0
    from sourcediff.rules import rule_listing
    listing = [(name, modes) for name, modes in rule_listing()]
    assert listing == [(line.split()[0], line.split()[1:]) for line in out_all.splitlines()]
    helpers = [name for name, _ in listing if name.startswith("sourcediff.")]
    assert "sourcediff.runtime.unbroadcast" in helpers and "sourcediff.api.grad" in helpers
    assert [row for row in listing if row[0] not in helpers] == \
        [(line.split()[0], line.split()[1:]) for line in out.splitlines()]


@pytest.mark.quick
def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    out, _ = capsys.readouterr()
    assert out == f"sourcediff {sourcediff.__version__}\n"
    import importlib.metadata
    assert importlib.metadata.version("sourcediff") == sourcediff.__version__


@pytest.mark.quick
def test_error_paths_are_relative_to_the_current_directory_when_shorter(pyfile, tmp_path,
                                                                         monkeypatch, capsys):
    path = pyfile("""
        def f(x):
            with open("log") as fh:
                pass
            return x
    """)
    monkeypatch.chdir(tmp_path)
    status, out, err = run(["show", f"{path}:f"], capsys)   # the absolute path given
    assert_clean_error(status, out, err)
    assert err.startswith("mod.py:3: a `with` block is not supported\n"), err
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    status, out, err = run(["show", f"{path}:f"], capsys)
    assert err.startswith(f"..{os.sep}mod.py:3: "), err
    deep = tmp_path.joinpath(*["d"] * 40)   # ../../... would be longer than the absolute path
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    status, out, err = run(["show", f"{path}:f"], capsys)
    assert err.startswith(f"{path}:3: "), err


# ---- export -------------------------------------------------------------------------------------
RUNNER = '''
import importlib.abc, json, sys

class BlockSourcediff(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "sourcediff" or name.startswith("sourcediff."):
            raise ImportError("sourcediff is not available here")

sys.meta_path.insert(0, BlockSourcediff())
sys.path.insert(0, sys.argv[1])
import numpy as np
module = __import__(sys.argv[2])
spec = json.loads(sys.argv[4])
args = [np.array(a) if isinstance(a, list) else a for a in spec]
result = getattr(module, sys.argv[3])(*args)

def encode(g):
    if isinstance(g, tuple):
        return {"tuple": [encode(x) for x in g]}
    if isinstance(g, np.ndarray):
        return {"array": g.tolist(), "dtype": str(g.dtype)}
    return {"type": type(g).__name__, "value": g}

assert "sourcediff" not in sys.modules
print(json.dumps(encode(result)))
'''


def _decode(obj):
    if "tuple" in obj:
        return tuple(_decode(x) for x in obj["tuple"])
    if "array" in obj:
        return np.array(obj["array"], dtype=obj["dtype"])
    assert obj["type"] == "float", obj
    return float(obj["value"])


def run_exported(tmp_path, module_name, function, args):
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    spec = json.dumps([a.tolist() if isinstance(a, np.ndarray) else a for a in args])
    done = subprocess.run([sys.executable, "-I", str(runner), str(tmp_path), module_name,
                           function, spec], cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return _decode(json.loads(done.stdout))


def export(target, tmp_path, capsys, name="exported", *extra):
    out_path = tmp_path / f"{name}.py"
    status, out, err = run(["export", target, "-o", str(out_path), *extra], capsys)
    assert status == 0, err
    text = out_path.read_text()
    # only numpy and math are imported
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            assert all(a.name.split(".")[0] in ("numpy", "math") for a in node.names), text
        if isinstance(node, ast.ImportFrom):
            assert node.module.split(".")[0] in ("numpy", "math"), text
    return text


def test_export_quadratic(tmp_path, capsys):
    text = export(f"{QUADRATIC}:f", tmp_path, capsys)
    status, shown, _ = run(["show", f"{QUADRATIC}:f"], capsys)
    assert status == 0 and shown.strip() in text     # the generated code, unchanged
    for x in (1.3, -0.5):
        g = run_exported(tmp_path, "exported", "grad_f", [x])
        assert_close(g, central_fd(lambda x: x ** 2 - 3 * x - 2, [x]))
        assert g == pytest.approx(2 * x - 3, abs=1e-12)


def test_export_loop(tmp_path, capsys):
    """A scalar function whose work is an Euler loop (examples/ode.py), both modes."""
    sys.path.insert(0, EXAMPLES)
    try:
        import ode
    finally:
        sys.path.remove(EXAMPLES)
    export(f"{EXAMPLES}/ode.py:final_position", tmp_path, capsys, "ode_rev")
    export(f"{EXAMPLES}/ode.py:final_position", tmp_path, capsys, "ode_fwd", "--mode",
           "forward", "--name", "sensitivity")
    for c in (0.5, 1.2):
        expected = central_fd(ode.final_position, [c])
        rev = run_exported(tmp_path, "ode_rev", "grad_final_position", [c])
        fwd = run_exported(tmp_path, "ode_fwd", "sensitivity", [c])
        assert_close(rev, expected, rtol=1e-6)
        assert_close(fwd, expected, rtol=1e-6)
        assert rev == pytest.approx(sourcediff.grad(ode.final_position)(c), rel=1e-12)


def test_export_arrays_and_user_function(tmp_path, capsys):
    """Array arguments, a tuple wrt, and a user helper with a loop (examples/mlp.py)."""
    sys.path.insert(0, EXAMPLES)
    try:
        import mlp
    finally:
        sys.path.remove(EXAMPLES)
    text = export(f"{EXAMPLES}/mlp.py:loss", tmp_path, capsys, "mlp_grad", "--wrt", "0,1,2,3")
    assert "def grad_loss(W1, b1, W2, b2, X, Y):" in text
    rng = np.random.default_rng(3)
    X, Y, _ = mlp.spirals(n_per_class=4)
    params = [rng.normal(size=(2, 5)), rng.normal(size=5), rng.normal(size=(5, 3)),
              rng.normal(size=3)]
    args = [*params, X, Y]
    got = run_exported(tmp_path, "mlp_grad", "grad_loss", args)
    assert_close(got, central_fd(mlp.loss, args, wrt=(0, 1, 2, 3)), rtol=1e-5, atol=1e-7)
    same = sourcediff.grad(mlp.loss, wrt=(0, 1, 2, 3))(*args)
    for a, b in zip(got, same):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_export_user_functions_defaults_and_imports(pyfile, tmp_path, capsys):
    path = pyfile("""
        import math
        import numpy
        from numpy import tanh as th

        def helper(a, b):
            return numpy.sum(a * b)

        def scale(v, k=2.0):
            return th(v) * k + math.sin(helper(v, v))

        def f(x, n=3, *, k=1.5):
            s = 0.0
            for i in range(n):
                s = s + numpy.sum(scale(x, k) ** 2) * helper(x, x)
            return s + numpy.sum(numpy.ones(3) * x) + helper(numpy.ones(3), numpy.ones(3))
    """, name="userfuncs.py")
    text = export(f"{path}:f", tmp_path, capsys, "uf", "--name", "df")
    assert "def helper(a, b):" in text      # called as a plain function by the primal code
    assert "def df(x, n=3, *, k=1.5):" in text
    sys.path.insert(0, str(tmp_path))
    try:
        import userfuncs
    finally:
        sys.path.remove(str(tmp_path))
    x = np.array([0.3, -0.2, 0.5])
    got = run_exported(tmp_path, "uf", "df", [x])
    assert_close(got, central_fd(userfuncs.f, [x]), rtol=1e-6)
    np.testing.assert_allclose(got, sourcediff.grad(userfuncs.f)(x), rtol=1e-12)


def test_export_refuses_module_constants(pyfile, tmp_path, capsys):
    path = pyfile("""
        import numpy as np
        SCALE = 3.0
        TABLE = np.arange(3.0)

        def f(x):
            return np.sum(x * SCALE + TABLE)
    """)
    out_path = tmp_path / "never.py"
    status, out, err = run(["export", f"{path}:f", "-o", str(out_path)], capsys)
    assert_clean_error(status, out, err)
    assert "SCALE" in err and "TABLE" in err and "module globals" in err
    assert not out_path.exists()


@pytest.mark.quick
def test_export_errors(pyfile, tmp_path, capsys):
    path = pyfile("def f(x):\n    return x * x\n")
    status, out, err = run(["export", f"{path}:f", "-o", str(tmp_path / "a.py"), "--name",
                            "not a name"], capsys)
    assert_clean_error(status, out, err)
    status, out, err = run(["export", f"{path}:f", "-o",
                            str(tmp_path / "missing_dir" / "a.py")], capsys)
    assert_clean_error(status, out, err)
    assert "cannot write" in err


# ---- graph --------------------------------------------------------------------------------------
def check_dot(text):
    """A small DOT checker: one digraph, balanced braces outside strings, one declaration per
    node, every edge endpoint declared. Returns (nodes, edges)."""
    assert text.startswith("digraph "), text[:40]
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            assert depth >= 0, "unbalanced braces"
    assert depth == 0 and not in_string
    strip = re.compile(r'"(?:[^"\\]|\\.)*"')
    nodes, edges = [], []
    for line in text.splitlines():
        bare = strip.sub('""', line).strip()
        edge = re.match(r"^(\w+)\s*->\s*(\w+)\s*(\[.*\])?;$", bare)
        node = re.match(r"^(\w+)\s*\[.*\];$", bare)
        if edge:
            edges.append((edge.group(1), edge.group(2)))
        elif node and node.group(1) not in ("node", "edge", "graph"):
            nodes.append(node.group(1))
    assert len(nodes) == len(set(nodes)), "a node is declared twice"
    for a, b in edges:
        assert a in nodes and b in nodes, f"edge {a} -> {b} has an undeclared end"
    return nodes, edges


def count_statements(body):
    n = 0
    for stmt in body:
        n += 1
        for field in ("body", "orelse"):
            n += count_statements(getattr(stmt, field, []) or [])
    return n


GRAPH_SOURCE = """
    import numpy as np

    def g(x, y, n=3):
        s = 0.0
        for i in range(n):
            if s > 1.0:
                s = s + np.sin(x * s)
            else:
                s = s + x ** 2 * y
        while s < 10.0:
            s = s * 2.0
        return s / "z\\\\\\"q".count("q")
"""


@pytest.mark.quick
def test_graph(pyfile, capsys):
    path = pyfile(GRAPH_SOURCE)
    status, out, err = run(["graph", f"{path}:g"], capsys)
    assert status == 0, err
    nodes, edges = check_dot(out)
    func, _ = cli.load_function(f"{path}:g")
    src, _ = pipeline.prepare(func)
    statements = [n for n in nodes if re.fullmatch(r"s\d+", n)]
    assert len(statements) == count_statements(src.tree.body)
    assert sorted(set(nodes) - set(statements)) == ["in_n", "in_x", "in_y"]
    assert out.count("subgraph cluster_") == 5   # for, if, its then and else, while
    for kind in ("for", "if", "then", "else", "while"):
        assert f'label="{kind}"' in out
    labels = _labels(out)
    reader = next(n for n, text in labels.items() if "x ** 2" in text)
    assert ("in_x", reader) in edges
    assert any(repr('z\\"q') in text for text in labels.values())   # quoting survives


def _labels(dot):
    """{statement node: its label text, unescaped}."""
    out = {}
    for node, label in re.findall(r'^\s*(s\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M):
        out[node] = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1),
                           label)
    return out


@pytest.mark.quick
def test_graph_edges_follow_data_flow(pyfile, capsys):
    path = pyfile("""
        def h(a, b):
            c = a * b
            d = c + a
            return d * 2.0
    """)
    status, out, _ = run(["graph", f"{path}:h"], capsys)
    assert status == 0
    _, edges = check_dot(out)
    # recompute the def -> use edges from the statement texts themselves
    labels = {n: text.split("\n")[0] for n, text in _labels(out).items()}
    defines = {"a": ["in_a"], "b": ["in_b"]}
    for node, text in labels.items():
        if " = " in text:
            defines.setdefault(text.split(" = ")[0].strip(), []).append(node)
    expected = set()
    for node, text in labels.items():
        rhs = text.split(" = ", 1)[-1].replace("return ", "")
        for name in re.findall(r"[A-Za-z_]\w*", rhs):
            expected |= {(src, node) for src in defines.get(name, ())}
    assert set(edges) == expected
    assert len(labels) == 4     # c = a * b; d = c + a; t = d * 2.0; return t


@pytest.mark.quick
def test_graph_adjoint(pyfile, capsys):
    path = pyfile(GRAPH_SOURCE)
    status, plain, _ = run(["graph", f"{path}:g"], capsys)
    status, out, err = run(["graph", f"{path}:g", "--adjoint", "--wrt", "x"], capsys)
    assert status == 0, err
    nodes, edges = check_dot(out)
    adjoint = [n for n in nodes if re.fullmatch(r"a\d+", n)]
    assert adjoint
    assert "adjoint sweep (grad_g)" in out
    labels = " ".join(re.findall(r'label="([^"]*)"', out))
    assert "dx" in labels
    assert any(a.startswith("a") and b.startswith("a") for a, b in edges)
    assert len([n for n in nodes if n.startswith("s")]) == \
        len([n for n in check_dot(plain)[0] if n.startswith("s")])


def _adjoint_labels(dot):
    """{adjoint statement node: its label text}."""
    return {node: re.sub(r"\\(.)", r"\1", label)
            for node, label in re.findall(r'^\s*(a\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M)}


@pytest.mark.quick
def test_graph_adjoint_draws_no_edges_from_overwritten_values(pyfile, capsys):
    status, out, err = run(["graph", f"{QUADRATIC}:f", "--adjoint"], capsys)
    assert status == 0, err
    _, edges = check_dot(out)
    node = {text: n for n, text in _adjoint_labels(out).items()}
    first, second = node["dx = -dt4 * 3"], node["dx = dx + dt4 * (2 * x)"]
    result = node["return _sd.gradient_like(dx, x)"]
    assert (first, second) in edges and (second, result) in edges
    assert (second, second) not in edges      # it reads the dx before it, not its own
    assert (first, result) not in edges       # overwritten before the return reads dx
    # in a loop, a value assigned late in the body reaches the reads at the top of the next
    # iteration; after an if, both branches' values reach
    path = pyfile("""
        def h(x, n):
            s = x
            for i in range(n):
                t = s * x
                if t > 1.0:
                    s = t - 1.0
                else:
                    s = t + 1.0
            return s
    """)
    status, out, err = run(["graph", f"{path}:h"], capsys)
    assert status == 0, err
    _, edges = check_dot(out)
    node = {text.split("\n")[0]: n for n, text in _labels(out).items()}
    start, read = node["s = x"], node["t = s * x"]
    minus, plus, ret = node["s = t - 1.0"], node["s = t + 1.0"], node["return s"]
    assert {(start, read), (minus, read), (plus, read)} <= set(edges)
    assert {(start, ret), (minus, ret), (plus, ret)} <= set(edges)
    assert (minus, plus) not in edges and (plus, minus) not in edges


@pytest.mark.quick
def test_graph_output_files(pyfile, tmp_path, capsys, monkeypatch):
    path = pyfile(GRAPH_SOURCE)
    dot_path = tmp_path / "g.dot"
    status, out, err = run(["graph", f"{path}:g", "-o", str(dot_path)], capsys)
    assert status == 0, err
    check_dot(dot_path.read_text())
    # no Graphviz on PATH: a clear message saying how to install it
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, out, err = run(["graph", f"{path}:g", "-o", str(tmp_path / "g.svg")], capsys)
    assert_clean_error(status, out, err)
    assert "Graphviz" in err and "install" in err and "apt install graphviz" in err
    # a stand-in `dot` that records how it is called
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text(f"#!{sys.executable}\nimport sys\n"
                    "out = sys.argv[sys.argv.index('-o') + 1]\n"
                    "open(out, 'w').write(sys.argv[1] + '\\n' + sys.stdin.read())\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    svg = tmp_path / "g.svg"
    status, out, err = run(["graph", f"{path}:g", "-o", str(svg)], capsys)
    assert status == 0, err
    fmt, dot_text = svg.read_text().split("\n", 1)
    assert fmt == "-Tsvg"
    check_dot(dot_text)
    status, out, err = run(["graph", f"{path}:g", "-o", str(tmp_path / "g.txt")], capsys)
    assert_clean_error(status, out, err)
