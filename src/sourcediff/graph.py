"""The normalized program as a Graphviz graph: `sourcediff graph FILE.py:FUNC`.

One node per statement of the normalized (one operation per statement) program, labeled by its
text and its line in the user's file; an edge from a statement that assigns a name to each
statement that may read the value it assigned (reaching definitions: a value overwritten on
every path before a read draws no edge to it, so `dx = dx + e` reads the `dx` assigned before
it, not its own; a loop's body feeds its next iteration; both branches of an `if` reach what
follows it); the bodies of `if`/`for`/`while` statements drawn as clusters. The function's
parameters are extra input nodes (ids `in_<name>`); statement nodes have ids `s<k>` (and `a<k>`
for the statements of the adjoint sweep that `--adjoint` adds).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess

import gast

from . import codegen, ir

INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: `sudo apt install graphviz`, macOS: "
                "`brew install graphviz`, conda: `conda install graphviz`), or write the DOT "
                "text with -o FILE.dot")


class GraphvizError(Exception):
    """Graphviz is missing or failed."""


def quote(text):
    """`text` as a DOT double-quoted string (newlines become `\\n`)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r", "").replace("\n", "\\n") + '"'


# ---- reading statements (gast for the normalized program, ast for the generated code) ----------
class _Lang:
    def __init__(self, mod, to_source):
        self.mod = mod
        self.to_source = to_source

    def names(self, node, ctx):
        if node is None:
            return []
        nodes = node if isinstance(node, list) else [node]
        out = []
        for root in nodes:
            for n in self.mod.walk(root):
                if isinstance(n, self.mod.Name) and isinstance(n.ctx, ctx) and n.id not in out:
                    out.append(n.id)
        return out

    def defs_uses(self, stmt):
        m = self.mod
        if isinstance(stmt, m.Assign):
            defs = self.names(stmt.targets, m.Store)
            uses = self.names(stmt.value, m.Load) + self.names(stmt.targets, m.Load)
        elif isinstance(stmt, m.AugAssign):
            defs = self.names(stmt.target, m.Store)
            uses = defs + self.names(stmt.value, m.Load)
        elif isinstance(stmt, m.AnnAssign):
            defs = self.names(stmt.target, m.Store)
            uses = self.names(stmt.value, m.Load)
        elif isinstance(stmt, m.For):
            defs = self.names(stmt.target, m.Store)
            uses = self.names(stmt.iter, m.Load)
        elif isinstance(stmt, (m.If, m.While)):
            defs, uses = [], self.names(stmt.test, m.Load)
        else:
            defs, uses = [], self.names(stmt, m.Load)
        return defs, uses

    def header(self, stmt):
        m = self.mod
        if isinstance(stmt, m.For):
            return f"for {self.to_source(stmt.target)} in {self.to_source(stmt.iter)}:"
        if isinstance(stmt, m.While):
            return f"while {self.to_source(stmt.test)}:"
        if isinstance(stmt, m.If):
            return f"if {self.to_source(stmt.test)}:"
        return self.to_source(stmt).strip()

    def compound(self, stmt):
        return isinstance(stmt, (self.mod.For, self.mod.While, self.mod.If))


GAST = _Lang(gast, codegen.to_source)
AST = _Lang(ast, ast.unparse)


def statements(body, lang=GAST):
    """Every statement of `body`, nested bodies included, in source order."""
    out = []
    for stmt in body:
        out.append(stmt)
        if lang.compound(stmt):
            out += statements(stmt.body, lang)
            out += statements(stmt.orelse, lang)
    return out


# ---- reaching definitions ----------------------------------------------------------------------
def _join(*states):
    """The union of reaching-definition states ({name: set of node ids}); None is unreachable."""
    out = None
    for state in states:
        if state is None:
            continue
        if out is None:
            out = {name: set(nodes) for name, nodes in state.items()}
            continue
        for name, nodes in state.items():
            out.setdefault(name, set()).update(nodes)
    return out


class _Flow:
    """Which definitions reach each statement's reads, through `if`, `for` and `while` (with
    `break` and `continue`): `reads[node][name]` is the set of nodes whose value of `name` the
    statement `node` may read."""

    def __init__(self, builder, lang):
        self.builder = builder
        self.lang = lang
        self.loops = []   # per enclosing loop: [break states, continue states]

    def read(self, node, names, state):
        if state is None:
            return
        reads = self.builder.reads.setdefault(node, {})
        for name in names:
            reads.setdefault(name, set()).update(state.get(name, ()))

    def body(self, stmts, state):
        m = self.lang.mod
        for stmt in stmts:
            if state is None:
                break            # after a break or continue: not reached
            node = self.builder.node_of[id(stmt)]
            defs, uses = self.builder.nodes[node]
            if isinstance(stmt, m.If):
                self.read(node, uses, state)
                state = _join(self.body(stmt.body, _join(state)),
                              self.body(stmt.orelse, _join(state)))
            elif isinstance(stmt, (m.For, m.While)):
                state = self.loop(stmt, node, defs, uses, state)
            elif isinstance(stmt, m.Break):
                self.loops[-1][0].append(state)
                state = None
            elif isinstance(stmt, m.Continue):
                self.loops[-1][1].append(state)
                state = None
            else:
                self.read(node, uses, state)
                state = _join(state)
                for name in defs:
                    state[name] = {node}
        return state

    def loop(self, stmt, node, defs, uses, before):
        """The state after the loop `stmt`: iterate to a fixed point of the state at the top of
        the body (the state before the loop joined with the end of every iteration)."""
        is_for = isinstance(stmt, self.lang.mod.For)
        if is_for:
            self.read(node, uses, before)      # the iterable is evaluated once
        head = _join(before)
        while True:
            self.loops.append([[], []])
            if not is_for:
                self.read(node, uses, head)    # the test runs before every iteration
            start = _join(head)
            if is_for:
                for name in defs:
                    start[name] = {node}
            end = self.body(stmt.body, start)
            breaks, continues = self.loops.pop()
            new_head = _join(before, end, *continues)
            if new_head == head:
                break
            head = new_head
        after = _join(head, *breaks)
        if stmt.orelse:
            after = _join(self.body(stmt.orelse, _join(head)), *breaks)
        return after


# ---- building the graph -------------------------------------------------------------------------
class _Builder:
    def __init__(self):
        self.lines = []
        self.nodes = {}        # node id -> (defs, uses)
        self.node_of = {}      # id(statement) -> node id
        self.reads = {}        # node id -> {name read: node ids whose value it may read}
        self.counts = {}       # node id prefix -> nodes made
        self.clusters = 0

    def block(self, body, lang, prefix, indent, labeler):
        pad = "  " * indent
        for stmt in body:
            self.counts[prefix] = self.counts.get(prefix, 0) + 1
            node = f"{prefix}{self.counts[prefix]}"
            self.nodes[node] = lang.defs_uses(stmt)
            self.node_of[id(stmt)] = node
            label = labeler(stmt, lang.header(stmt))
            style = ' style="rounded,filled" fillcolor="#eef3fb"' if lang.compound(stmt) else ""
            if not lang.compound(stmt):
                self.lines.append(f"{pad}{node} [label={quote(label)}{style}];")
                continue
            self.clusters += 1
            cid = self.clusters
            kind = lang.header(stmt).split(" ", 1)[0]
            self.lines.append(f"{pad}subgraph cluster_{cid} {{")
            self.lines.append(f"{pad}  label={quote(kind)}; style=dashed; color=gray50;")
            self.lines.append(f"{pad}  {node} [label={quote(label)}{style}];")
            if isinstance(stmt, (gast.If, ast.If)):
                for part, body_ in (("then", stmt.body), ("else", stmt.orelse)):
                    if not body_:
                        continue
                    self.clusters += 1
                    self.lines.append(f"{pad}  subgraph cluster_{self.clusters} {{")
                    self.lines.append(f"{pad}    label={quote(part)}; style=dotted;")
                    self.block(body_, lang, prefix, indent + 2, labeler)
                    self.lines.append(f"{pad}  }}")
            else:
                self.block(stmt.body, lang, prefix, indent + 1, labeler)
            self.lines.append(f"{pad}}}")

    def flow(self, body, lang, state):
        """Record the definitions reaching every read in `body` (already drawn with `block`),
        starting from `state`; returns the state after `body`."""
        return _Flow(self, lang).body(body, state)

    def edges(self, sources, targets, attrs=""):
        """Def -> use edges from the nodes `sources` to the nodes `targets`, as DOT lines: one
        per pair of nodes, labeled with the names whose value flows along it."""
        order = {node: k for k, node in enumerate(self.nodes)}
        sources = set(sources)
        out = {}
        for node in targets:
            reads = self.reads.get(node, {})
            for name in self.nodes[node][1]:
                for src in sorted(reads.get(name, set()) & sources, key=order.get):
                    names = out.setdefault((src, node), [])
                    if name not in names:
                        names.append(name)
        return [f"  {a} -> {b} [label={quote(', '.join(names))}{attrs}];"
                for (a, b), names in out.items()]


def dot_graph(func, adjoint_source=None):
    """The DOT text of `func`'s normalized program (and, given the generated reverse-mode source,
    of its adjoint sweep)."""
    from . import pipeline

    src, _ = pipeline.prepare(func)
    tree = src.tree
    short = os.path.basename(src.filename)

    def primal_label(stmt, text):
        line = getattr(stmt, "lineno", None)
        return f"{text}\n{short}:{line}" if line else text

    b = _Builder()
    b.lines += [f"digraph {quote(func.__qualname__)} {{",
                f"  label={quote(f'{func.__qualname__} ({short}), normalized')};",
                "  labelloc=t; rankdir=TB;",
                '  node [shape=box, fontname="monospace", fontsize=10];',
                '  edge [fontname="monospace", fontsize=9];']
    params = ir.param_names(tree)
    for p in params:
        b.lines.append(f"  in_{p} [label={quote(p)}, shape=invhouse, style=filled, "
                       'fillcolor="#fff3c4"];')
        b.nodes[f"in_{p}"] = ([p], [])
    b.block(tree.body, GAST, "s", 1, primal_label)
    primal = list(b.nodes)
    end = b.flow(tree.body, GAST, {p: {f"in_{p}"} for p in params})
    edges = b.edges(primal, primal)

    if adjoint_source is not None:
        for k, (title, body) in enumerate(_adjoint_statements(adjoint_source)):
            before = set(b.nodes)
            b.clusters += 1
            b.lines.append(f"  subgraph cluster_{b.clusters} {{")
            b.lines.append(f"    label={quote(title)}; style=filled; color=\"#fbeeee\";")
            b.block(body, AST, "a", 2, lambda stmt, text: text)
            b.lines.append("  }")
            # data flow inside each generated function only: their names are separate. The
            # top function's adjoint sweep runs after its forward sweep, which computes the
            # primal values: it starts from the primal program's final state
            adj = [n for n in b.nodes if n not in before]
            b.flow(body, AST, _join(end) if k == 0 and end is not None else {})
            edges += b.edges(adj, adj, ', color="#b03030"')
            if k == 0:
                # primal values the adjoint sweep reads
                edges += b.edges(primal, adj, ", style=dashed, color=gray60")
    b.lines += edges
    b.lines.append("}")
    return "\n".join(b.lines) + "\n"


def _adjoint_statements(source):
    """[(cluster title, statements)] of the adjoint sweep in the generated reverse-mode source:
    the top function's statements after its `_sd.check_scalar(...)` (the forward sweep before it
    repeats the primal program), and every `bwd_*` function."""
    module = ast.parse(source)
    functions = [fn for fn in module.body if isinstance(fn, ast.FunctionDef)]
    out = []
    if functions:
        top = functions[0]
        body = top.body
        for i, stmt in enumerate(body):
            if _is_check_scalar(stmt):
                body = body[i + 1:]
                break
        out.append((f"adjoint sweep ({top.name})", body))
    for fn in functions[1:]:
        if fn.name.startswith("bwd_"):
            out.append((f"adjoint sweep ({fn.name})", fn.body))
    return out


def _is_check_scalar(stmt):
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    f = stmt.value.func
    return isinstance(f, ast.Attribute) and f.attr == "check_scalar"


def render(dot_text, output, fmt):
    """Run Graphviz `dot` to write `output` in format `fmt` (svg, png, pdf)."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizError(f"writing {output} needs Graphviz's `dot` program, which is not "
                            f"installed (or not on PATH); {INSTALL_HINT}")
    try:
        done = subprocess.run([exe, f"-T{fmt}", "-o", output], input=dot_text.encode(),
                              capture_output=True, check=False)
    except OSError as exc:
        raise GraphvizError(f"cannot run {exe}: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise GraphvizError(f"Graphviz `dot` failed to write {output}: "
                            + (message[0] if message else f"exit status {done.returncode}"))
