"""The `>>>` examples in sourcediff's docstrings run, module by module (doctest).

Every module of src/sourcediff whose source holds a `>>>` is imported and its docstrings'
examples run; each such module must have at least one example that doctest finds (a `>>>`
outside a docstring is not an example) and none may fail. The before/after examples of the
passes' module docstrings, written as indented blocks, are checked by tests/test_passes.py.
"""

import doctest
import importlib
import io
import os

import pytest

import sourcediff

pytestmark = pytest.mark.quick

PACKAGE = os.path.dirname(os.path.abspath(sourcediff.__file__))


def modules_with_examples():
    names = []
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file in sorted(files):
            if not file.endswith(".py") or file == "__main__.py":
                continue
            path = os.path.join(folder, file)
            with open(path, encoding="utf-8") as fh:
                if ">>>" not in fh.read():
                    continue
            parts = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(parts))
    return names


MODULES = modules_with_examples()


def test_the_modules_with_examples_are_found():
    assert "sourcediff.passes.activity" in MODULES
    assert "sourcediff.passes.templates" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    assert tests, f"{name} has `>>>` in its source but no docstring example doctest can run"
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test, out=report.write)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, report.getvalue()
    assert results.attempted == sum(len(t.examples) for t in tests)
