"""The documentation runs: every example in docs/*.md and README.md is checked against the code.

* Every ```python block runs. The blocks of one Markdown file run in order as one module (so a
  later block can use names an earlier one defined), written to a real .py file because
  sourcediff reads functions' source with `inspect`: code given to `exec` as a string has none.
  Each code line sits on the same line number as in the Markdown file, so a traceback (and the
  `# file.py:LINE` comments in generated code) point at the Markdown line.
* A ```python block followed directly by a ```text block must print exactly that text.
* A ```bash block holding one `sourcediff ...` command, followed directly by a ```text block,
  must print exactly that text (stdout, then stderr). Commands run from a scratch directory
  holding copies of examples/ and docs/examples/, and the scratch directory's path is removed
  from the output, so paths read as they do from the repository root.
* docs/rules.md is what docs/generate_rules.py makes from the rule table today.
* The refusal table in docs/supported-python.md gives the message and hint sourcediff raises for
  each example function in docs/examples/refused.py.
* Relative links between the documents point at files that exist.

After an intended change to the generated code or the messages, rewrite the output blocks with

    SOURCEDIFF_UPDATE_DOCS=1 python -m pytest tests/test_docs.py

(twice if an output's length changed: later line numbers move) and read the diff.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import quick_if

import sourcediff
from sourcediff import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
UPDATE = bool(os.environ.get("SOURCEDIFF_UPDATE_DOCS"))


def markdown_files():
    names = sorted(n for n in os.listdir(DOCS) if n.endswith(".md"))
    return [os.path.join(DOCS, n) for n in names] + [os.path.join(ROOT, "README.md")]


def doc_id(path):
    return os.path.relpath(path, ROOT)


DOC_FILES = markdown_files()
QUICK_DOCS = ("README.md", "tutorial.md")   # the documents whose examples the quick tier runs


# ---- reading Markdown ---------------------------------------------------------------------------
@dataclass
class Block:
    lang: str
    start: int        # index of the opening fence line (0-based)
    end: int          # index of the closing fence line
    lines: list       # the lines between the fences

    @property
    def text(self):
        return "".join(line + "\n" for line in self.lines)


FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")


def fenced_blocks(lines):
    """The fenced code blocks of a Markdown file (fences at the start of a line)."""
    blocks = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise AssertionError(f"unclosed code fence at line {i + 1}")
        blocks.append(Block(m.group(1), i, j, lines[i + 1:j]))
        i = j + 1
    return blocks


def output_of(blocks, lines, k):
    """The ```text block directly after blocks[k] (only blank lines between), or None."""
    if k + 1 >= len(blocks):
        return None
    nxt = blocks[k + 1]
    between = lines[blocks[k].end + 1:nxt.start]
    if nxt.lang == "text" and all(not line.strip() for line in between):
        return nxt
    return None


def read_lines(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read().split("\n")


def normalize(text):
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


# Python 3.10's ast.unparse writes a tuple target in parentheses, `(a, b) = t`, `(a,) = t`,
# `for (a, b) in t`, where 3.11 and later write `a, b = t`, `a, = t`, `for a, b in t` (the same
# program): outputs are compared in the later form, so the documents hold on 3.10 to 3.13
_TUPLE_ASSIGN = re.compile(r"^(\s*)\(([^()=\n]*,[^()=\n]*)\) = ", re.M)
_TUPLE_FOR = re.compile(r"\bfor \(([^()=\n]*,[^()=\n]*)\) in ")


def same_on_every_python(text):
    """`text` with Python 3.10's parenthesized tuple targets written as 3.11+ writes them."""
    return _TUPLE_FOR.sub(r"for \1 in ", _TUPLE_ASSIGN.sub(r"\1\2 = ", normalize(text)))


# ---- output blocks: compare, or rewrite with SOURCEDIFF_UPDATE_DOCS=1 ---------------------------
def check_outputs(path, found):
    """`found`: [(text Block, actual output)]. Assert each matches, or rewrite the file."""
    if UPDATE:
        lines = read_lines(path)
        for block, actual in sorted(found, key=lambda f: -f[0].start):
            if same_on_every_python(block.text) != same_on_every_python(actual):
                lines[block.start + 1:block.end] = normalize(actual).split("\n")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        return
    problems = []
    for block, actual in found:
        if same_on_every_python(block.text) != same_on_every_python(actual):
            problems.append(f"{doc_id(path)}:{block.start + 1}: the output block says\n"
                            f"{normalize(block.text)}\n--- but the code prints\n"
                            f"{normalize(actual)}\n")
    assert not problems, ("\n".join(problems) + "\n(SOURCEDIFF_UPDATE_DOCS=1 rewrites the "
                                                "output blocks; read the diff)")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A scratch directory with copies of examples/ and docs/examples/, made the cwd."""
    shutil.copytree(os.path.join(ROOT, "examples"), tmp_path / "examples")
    shutil.copytree(os.path.join(DOCS, "examples"), tmp_path / "docs" / "examples",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---- python blocks ------------------------------------------------------------------------------
def python_module_text(lines, blocks):
    """The python blocks as one module, each code line at its Markdown line number; the opening
    fence line becomes a call marking where the block's output starts."""
    out = [""] * len(lines)
    for k, block in enumerate(blocks):
        if block.lang != "python":
            continue
        out[block.start] = f"__doc_block__({k})"
        out[block.start + 1:block.end] = block.lines
    return "\n".join(out) + "\n"


def run_python_blocks(path, workspace, run):
    """Run the python blocks of `path` as one module; [(expected text Block, printed text)]."""
    lines = read_lines(path)
    blocks = fenced_blocks(lines)
    if not any(b.lang == "python" for b in blocks):
        return []
    stem = os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    module_path = workspace / f"{stem}.py"
    module_path.write_text(python_module_text(lines, blocks), encoding="utf-8")
    name = f"_sourcediff_docs_{stem}_{run}"
    spec = importlib.util.spec_from_file_location(name, module_path)
    module = importlib.util.module_from_spec(spec)
    buffer = io.StringIO()
    starts = {}

    def mark(k):
        starts[k] = buffer.tell()

    module.__doc_block__ = mark
    # the examples may import modules and extend sys.path: undo that afterwards, so each run
    # starts afresh (sourcediff caches derivatives per function object)
    modules, path = set(sys.modules), list(sys.path)
    sys.modules[name] = module
    try:
        with contextlib.redirect_stdout(buffer):
            spec.loader.exec_module(module)
    except BaseException as exc:
        tb, line = exc.__traceback__, None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(module_path):
                line = tb.tb_lineno
            tb = tb.tb_next
        raise AssertionError(f"{doc_id(path)}:{line}: the example raised "
                             f"{type(exc).__name__}: {exc}") from exc
    finally:
        for added in set(sys.modules) - modules:
            if str(getattr(sys.modules[added], "__file__", "")).startswith(str(workspace)):
                del sys.modules[added]
        sys.path[:] = path
    printed = buffer.getvalue()
    order = sorted(starts)
    found = []
    for i, k in enumerate(order):
        end = starts[order[i + 1]] if i + 1 < len(order) else len(printed)
        expected = output_of(blocks, lines, k)
        if expected is not None:
            found.append((expected, printed[starts[k]:end]))
    return found


# ---- shell blocks -------------------------------------------------------------------------------
def sourcediff_command(block):
    """The argument list of the single `sourcediff ...` command in a bash block, or None."""
    commands = [line.strip() for line in block.lines
                if line.strip() and not line.strip().startswith("#")]
    if len(commands) != 1 or not commands[0].startswith("sourcediff "):
        return None
    return shlex.split(commands[0])[1:]


def run_cli(argv, workspace):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    text = out.getvalue() + err.getvalue()
    return status, text.replace(str(workspace) + os.sep, "")


def shown_commands(path):
    lines = read_lines(path)
    blocks = fenced_blocks(lines)
    for k, block in enumerate(blocks):
        if block.lang not in ("bash", "sh", "console"):
            continue
        argv = sourcediff_command(block)
        expected = output_of(blocks, lines, k)
        if argv is not None and expected is not None:
            yield argv, expected


def run_shown_commands(path, workspace):
    return [(expected, run_cli(argv, workspace)[1]) for argv, expected in shown_commands(path)]


@pytest.mark.parametrize("path", quick_if(DOC_FILES, lambda p: os.path.basename(p) in QUICK_DOCS),
                         ids=doc_id)
def test_examples_run_and_print_what_the_docs_show(path, workspace, monkeypatch):
    """The `sourcediff` commands run first, in order, then the python blocks (which may use the
    files the commands wrote, such as an exported module)."""
    monkeypatch.syspath_prepend(str(workspace))
    # updating can move lines, and the `# file.py:LINE` comments with them: repeat until stable
    for run in range(4 if UPDATE else 1):
        with open(path, encoding="utf-8") as fh:
            before = fh.read()
        found = run_shown_commands(path, workspace)
        found += run_python_blocks(path, workspace, run)
        check_outputs(path, found)
        with open(path, encoding="utf-8") as fh:
            if fh.read() == before:
                break


@pytest.mark.quick
def test_outputs_compare_alike_on_every_python():
    """3.10's tuple targets match the 3.11+ form, and nothing else is forgiven."""
    later = "def g(t):\n    a, b = t\n    c, = t\n    return [x for x, y in zip(a, b)]\n"
    py310 = "def g(t):\n    (a, b) = t\n    (c,) = t\n    return [x for (x, y) in zip(a, b)]"
    assert same_on_every_python(py310) == same_on_every_python(later)
    assert same_on_every_python("a, b = t") != same_on_every_python("(a, c) = t")
    assert same_on_every_python("x = (a, b)") != same_on_every_python("x = a, b")
    assert same_on_every_python("return (t4, t3_dot)") == "return (t4, t3_dot)"


@pytest.mark.quick
def test_the_tutorial_shows_the_quadratic_example_from_the_command_line():
    """The checks above must cover at least the tutorial's `sourcediff show` of the seed."""
    commands = [argv for argv, _ in shown_commands(os.path.join(DOCS, "tutorial.md"))]
    assert ["show", "examples/quadratic.py:f"] in commands
    assert ["show", "examples/quadratic.py:f", "--mode", "forward"] in commands


@pytest.mark.quick
def test_how_it_works_shows_every_pass():
    commands = [argv for argv, _ in shown_commands(os.path.join(DOCS, "how-it-works.md"))]
    dumped = {argv[argv.index("--dump-after") + 1] for argv in commands
              if "--dump-after" in argv}
    from sourcediff import pipeline
    assert set(pipeline.PASS_NAMES) <= dumped


# ---- the rule reference -------------------------------------------------------------------------
# In fresh processes: other tests (and the tutorial) register rules of their own in this one.
def run_python(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.quick
def test_rules_reference_is_up_to_date():
    script = os.path.join(DOCS, "generate_rules.py")
    if UPDATE:
        run_python(script)
    done = run_python(script, "--check")
    assert done.returncode == 0, done.stderr + done.stdout


@pytest.mark.quick
def test_rules_reference_lists_what_sourcediff_rules_prints():
    done = run_python("-m", "sourcediff", "rules", "--all")   # the reference lists them all
    assert done.returncode == 0, done.stderr
    printed = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()}
    with open(os.path.join(DOCS, "rules.md"), encoding="utf-8") as fh:
        listed = {}
        for line in fh:
            m = re.match(r"^\| `([^`]+)` \| (.*) \|$", line.rstrip())
            if m:
                listed[m.group(1)] = m.group(2).split(", ")
    from sourcediff.rules.numpy import VERSION_DEPENDENT  # (rules.md has one NumPy's)
    assert {k: v for k, v in listed.items() if k not in VERSION_DEPENDENT} == \
        {k: v for k, v in printed.items() if k not in VERSION_DEPENDENT}


# ---- refusals -----------------------------------------------------------------------------------
def refusal_rows():
    """(function name, message, hint) from the table in docs/supported-python.md."""
    rows = []
    with open(os.path.join(DOCS, "supported-python.md"), encoding="utf-8") as fh:
        for line in fh:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if len(cells) == 4 and re.fullmatch(r"`refuse_\w+`", cells[1]):
                rows.append((cells[1].strip("`"), unescape(cells[2]), unescape(cells[3])))
    return rows


def unescape(cell):
    """A table cell's text without its Markdown escapes (`\\|`, `\\*`)."""
    return re.sub(r"\\([|*_])", r"\1", cell)


@pytest.mark.quick
def test_refusal_table_gives_the_real_messages_and_hints(workspace):
    sys.path.insert(0, str(workspace / "docs" / "examples"))
    try:
        refused = importlib.import_module("refused")
    finally:
        sys.path.pop(0)
    rows = refusal_rows()
    functions = sorted(n for n in vars(refused) if n.startswith("refuse_"))
    assert sorted(name for name, _, _ in rows) == functions
    for name, message, hint in rows:
        func = getattr(refused, name)
        args = refused.ARGS.get(name, (np.ones(3),))
        with pytest.raises(sourcediff.SourceDiffError) as info:
            sourcediff.grad(func)(*args)
        assert (info.value.reason, info.value.hint or "") == (message, hint), name


# ---- links --------------------------------------------------------------------------------------
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


@pytest.mark.quick
@pytest.mark.parametrize("path", DOC_FILES, ids=doc_id)
def test_relative_links_point_at_files(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    for target, _ in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert os.path.exists(os.path.join(os.path.dirname(path), target)), \
            f"{doc_id(path)} links to {target}, which does not exist"


@pytest.mark.quick
def test_index_links_every_document():
    with open(os.path.join(DOCS, "index.md"), encoding="utf-8") as fh:
        text = fh.read()
    linked = {target for target, _ in LINK.findall(text)}
    for path in markdown_files():
        name = os.path.basename(path)
        if name not in ("index.md", "README.md"):
            assert name in linked, f"docs/index.md does not link {name}"
