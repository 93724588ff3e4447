"""`sourcediff export` copies the runtime helpers an exported derivative calls: every helper
any rule template calls must be found in the runtime's modules (`runtime.MODULES`) and, copied
with what it reads, make a module that defines it and reads no name it does not define.

The standalone derivatives themselves are tested in test_cli.py (and test_scipy_models.py);
this checks the helper table as a whole, so a helper moved to a module export does not read,
or one that reads a name the copy lacks (the NameError an exported `np.pad(...,
mode="linear_ramp")` once raised), fails here.
"""

import ast
import builtins
import importlib.util

import numpy as np
import pytest

from sourcediff import export, runtime
from sourcediff.rules import registry

pytestmark = pytest.mark.quick

HAVE_SCIPY = importlib.util.find_spec("scipy") is not None


def _called_helpers():
    """Every `_sd.<name>` the registered rules' templates call (the SciPy table's too, when
    SciPy is installed)."""
    if HAVE_SCIPY:
        import scipy.special  # noqa: F401  (registers the SciPy table)

        runtime.load_scipy()
    registry.load_pending()
    names = set()
    for rule in {id(r): r for r in registry.RULES.values()}.values():
        for source in [*rule.adjoint.values(), *rule.tangent.values()]:
            for node in ast.walk(ast.parse(source)):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id == "_sd"):
                    names.add(node.attr)
    return sorted(names)


HELPERS = _called_helpers()


def test_the_rule_tables_call_helpers_of_every_runtime_module():
    modules = {m.__name__.rsplit(".", 1)[1] for m in runtime.MODULES
               if any(h in vars(m) for h in HELPERS)}
    assert {"core", "inplace", "numpy_helpers", "numpy_shapes", "numpy_selection", "numpy_linalg",
            "numpy_decompositions"} <= modules
    if HAVE_SCIPY:
        assert "scipy_helpers" in modules


@pytest.fixture(scope="module")
def table():
    return export._Runtime()


@pytest.mark.parametrize("name", HELPERS)
def test_export_copies_each_helper_with_what_it_reads(table, name):
    copied = table.render(table.closure({name}))
    text = "\n\n".join(sorted(export.helper_imports(copied)) + copied)
    namespace = {}
    exec(compile(text, f"<export of _sd.{name}>", "exec"), namespace)
    assert f"_sd_{name}" in namespace
    assert namespace["_np"] is np
    defined = set(namespace) | set(dir(builtins))
    for stmt in ast.parse(text).body:
        if isinstance(stmt, ast.FunctionDef):
            missing = [n for n in export.free_names(stmt) if n not in defined]
            assert not missing, f"{stmt.name} reads {missing}, which the export lacks"
