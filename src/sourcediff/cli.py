"""The `sourcediff` command: look at, export and draw the code sourcediff generates.

    sourcediff show FILE.py:FUNC [--mode reverse|forward] [--wrt x,y] [--no-optimize]
                                 [--dump-after PASS] [--color auto|always|never]
    sourcediff rules [--all]
    sourcediff --version
    sourcediff export FILE.py:FUNC -o OUT.py [--name NAME] [--mode ...] [--wrt ...]
    sourcediff graph FILE.py:FUNC [--adjoint] [--wrt ...] [-o OUT.dot|OUT.svg|OUT.png]

FUNC is a name in FILE's module or an attribute path (`Class.method`). Problems with the input
(a missing file or function, a syntax error, code sourcediff cannot differentiate) print one
clear message on stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import io
import keyword
import os
import sys
import tokenize
import traceback
import types

from .errors import SourceDiffError


class CLIError(Exception):
    """A problem with the command line or its input: printed as one line, exit status 2."""


# ---- loading FILE.py:FUNC -----------------------------------------------------------------------
def split_target(target):
    """`path/to/file.py:Class.method` -> ("path/to/file.py", "Class.method")."""
    path, sep, attr = target.rpartition(":")
    if not sep or not path or not attr:
        raise CLIError(f"expected FILE.py:FUNCTION, got {target!r} "
                       "(for example: sourcediff show examples/quadratic.py:f)")
    return path, attr


def _module_name(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in stem) or "module"
    if name[0].isdigit():
        name = "_" + name
    if name in sys.modules:   # never replace a module that is already imported
        name = f"_sourcediff_file_{name}"
    return name


def load_module(path):
    """Import the Python file at `path` as a module named after the file."""
    if not os.path.exists(path):
        raise CLIError(f"no such file: {path}")
    if not os.path.isfile(path):
        raise CLIError(f"not a file: {path}")
    path = os.path.abspath(path)
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CLIError(f"cannot import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    directory = os.path.dirname(path)
    sys.modules[name] = module
    sys.path.insert(0, directory)
    try:
        # whatever the module prints while importing must not mix with our output
        with contextlib.redirect_stdout(sys.stderr):
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        where = f"{exc.filename or path}:{exc.lineno}" if exc.lineno else path
        raise CLIError(f"{where}: syntax error: {exc.msg}") from None
    except (Exception, SystemExit) as exc:   # the user's module may raise anything
        sys.modules.pop(name, None)
        line = _last_line_in(exc, path)
        where = f"{path}:{line}: " if line else ""
        raise CLIError(f"{where}error while importing {path}: "
                       f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)
    return module


def _last_line_in(exc, path):
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if os.path.abspath(frame.f_code.co_filename) == path:
            line = lineno
    return line


def resolve(module, attr, path):
    """The object `attr` (a dotted path like `Class.method`) names in `module`."""
    obj = module
    parts = attr.split(".")
    for i, part in enumerate(parts):
        owner = obj
        try:
            obj = getattr(obj, part)
        except AttributeError:
            done = ".".join(parts[:i])
            if i == 0:
                raise CLIError(f"{path} has no function {part!r}"
                               + _suggest(module, part)) from None
            if isinstance(owner, types.FunctionType) and _defines(owner.__code__, part):
                raise CLIError(
                    f"{attr}: {part!r} is defined inside the function {done!r} and cannot be "
                    f"reached from outside it; move {part!r} to module level (or return it "
                    f"from {done!r} and differentiate that)") from None
            raise CLIError(f"{done} (in {path}) has no attribute {part!r}") from None
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if not callable(obj):
        raise CLIError(f"{attr} in {path} is not a function (it is a {type(obj).__name__})")
    method = len(parts) > 1 and isinstance(owner, type) and isinstance(
        inspect.getattr_static(owner, parts[-1], None), types.FunctionType)
    return obj, method


def _defines(code, name):
    return any(isinstance(c, types.CodeType) and (c.co_name == name or _defines(c, name))
               for c in code.co_consts)


def _suggest(module, name):
    import difflib
    funcs = [k for k, v in vars(module).items() if callable(v) and not k.startswith("__")
             and getattr(v, "__module__", None) == module.__name__]
    close = difflib.get_close_matches(name, funcs, n=3)
    if close:
        return f"; did you mean {', '.join(close)}?"
    if funcs:
        return f" (its functions: {', '.join(sorted(funcs))})"
    return ""


def load_function(target):
    """(function, whether it is a method reached through its class) for FILE.py:FUNC."""
    path, attr = split_target(target)
    module = load_module(path)
    return resolve(module, attr, path)


def parse_wrt(text):
    """`x` -> "x", `0` -> 0, `x,y` -> ("x", "y"), `x,` -> ("x",)."""
    if text is None:
        return 0
    items = [t.strip() for t in text.split(",")]
    if "," in text and items[-1] == "":
        items.pop()
    if not items or any(not t for t in items):
        raise CLIError(f"--wrt: expected names or indices separated by commas, got {text!r}")
    parsed = []
    for item in items:
        try:
            parsed.append(int(item))
        except ValueError:
            if not item.isidentifier():
                raise CLIError(f"--wrt: {item!r} is neither a parameter name nor an "
                               "index") from None
            parsed.append(item)
    if "," in text:
        return tuple(parsed)
    return parsed[0]


def default_wrt(func, wrt_text, method=False):
    """`--wrt` parsed; without it the first parameter, or for a method reached through its class
    (`Class.method`) the first parameter after `self`."""
    if wrt_text is not None:
        return parse_wrt(wrt_text)
    if method:
        try:
            if len(inspect.signature(func).parameters) > 1:
                return 1
        except (TypeError, ValueError):
            pass
    return 0


def make_grad(func, args, mode=None, method=False):
    import sourcediff
    return sourcediff.grad(func, wrt=default_wrt(func, args.wrt, method),
                           mode=mode or args.mode,
                           optimize=not getattr(args, "no_optimize", False))


# ---- syntax highlighting ------------------------------------------------------------------------
STYLES = {
    "keyword": "\x1b[1;35m",
    "defname": "\x1b[1;34m",
    "comment": "\x1b[2;32m",
    "string": "\x1b[33m",
    "number": "\x1b[36m",
}
RESET = "\x1b[0m"


def highlight(text):
    """`text` (Python source) with ANSI colors for keywords, names being defined, comments,
    strings and numbers. Returns `text` unchanged if it does not tokenize."""
    starts = [0]
    for line in text.splitlines(True):
        starts.append(starts[-1] + len(line))

    def offset(pos):
        row, col = pos
        return starts[row - 1] + col if row - 1 < len(starts) else len(text)

    spans = []
    fstring_start, depth = None, 0
    previous = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            name = tokenize.tok_name[tok.type]
            style = None
            if name == "FSTRING_START":
                if depth == 0:
                    fstring_start = offset(tok.start)
                depth += 1
            elif name == "FSTRING_END":
                depth -= 1
                if depth == 0:
                    spans.append((fstring_start, offset(tok.end), "string"))
            elif depth:
                pass
            elif tok.type == tokenize.COMMENT:
                style = "comment"
            elif tok.type == tokenize.STRING:
                style = "string"
            elif tok.type == tokenize.NUMBER:
                style = "number"
            elif tok.type == tokenize.NAME:
                if keyword.iskeyword(tok.string):
                    style = "keyword"
                elif previous is not None and previous.string in ("def", "class"):
                    style = "defname"
            if style:
                spans.append((offset(tok.start), offset(tok.end), style))
            if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT,
                                tokenize.INDENT, tokenize.DEDENT):
                previous = tok
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text
    out, at = [], 0
    for start, end, style in sorted(spans):
        if start < at:
            continue
        out.append(text[at:start])
        out.append(STYLES[style] + text[start:end] + RESET)
        at = end
    out.append(text[at:])
    return "".join(out)


def use_color(choice, stream):
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def emit(text, args):
    if not text.endswith("\n"):
        text += "\n"
    if use_color(getattr(args, "color", "auto"), sys.stdout):
        text = highlight(text)
    sys.stdout.write(text)


# ---- commands -----------------------------------------------------------------------------------
DUMPS = ("aliasing", "activity")   # the passes after `prepare` whose program `dump_after` prints


def dump_after(func, stage, wrt_names=(), param_kinds=None):
    """The program `sourcediff show --dump-after STAGE` prints, for a pass of
    `pipeline.PREPARE` or one of DUMPS: the normalized function after that pass. `aliasing` and
    `activity` run per specialization, for the argument kinds `param_kinds` ({parameter: kind},
    unknown by default, as the command line has no arguments); `activity` adds its result, for
    the parameters `wrt_names`, as a comment."""
    from . import codegen, pipeline
    stage = pipeline.OLD_PASS_NAMES.get(stage, stage)
    if stage in [name for name, _ in pipeline.PREPARE]:
        src, _ = pipeline.prepare(func, stop_after=stage)
        return "\n".join(codegen.render_function(src.tree))
    if stage not in DUMPS:
        raise ValueError(f"no program to print after {stage!r}")
    from .unit import Unit
    analysis = Unit("show").analysis(func, list(wrt_names), dict(param_kinds or {}))
    text = "\n".join(codegen.render_function(analysis.tree))
    if stage == "activity":
        text += "\n\n# activity (wrt " + ", ".join(wrt_names) + ")\n"
        text += "# " + str(analysis.activity)
    return text


def cmd_show(args):
    func, method = load_function(args.target)
    stage = args.dump_after
    if stage is None:
        emit(make_grad(func, args, method=method).source, args)
        return 0
    from . import pipeline
    stage = pipeline.OLD_PASS_NAMES.get(stage, stage)
    if stage in [name for name, _ in pipeline.PREPARE]:
        emit(dump_after(func, stage), args)
        return 0
    if stage in DUMPS:
        d = make_grad(func, args, method=method)   # validates --wrt against the signature
        emit(dump_after(func, stage, d.wrt_names), args)
        return 0
    if stage in ("reverse", "forward"):   # the generated code, before the optimizer
        args.no_optimize = True
        emit(make_grad(func, args, mode=stage, method=method).source, args)
        return 0
    # `optimize` and `codegen`: the code that is compiled (optimized unless --no-optimize)
    emit(make_grad(func, args, method=method).source, args)
    return 0


# sourcediff's own entries: the runtime helpers generated code calls, and the transforms
# (`grad` & co. called inside a differentiated function make a value with no derivative)
RUNTIME_PREFIX = "sourcediff."


def cmd_rules(args):
    from .rules import rule_listing
    rows = [(name, modes) for name, modes in rule_listing()
            if args.all or not name.startswith(RUNTIME_PREFIX)]
    width = max((len(name) for name, _ in rows), default=0)
    sys.stdout.write("".join(f"{name:<{width}}  {' '.join(modes)}\n" for name, modes in rows))
    return 0


def cmd_export(args):
    from . import export
    func, method = load_function(args.target)
    try:
        text, public = export.export_source(func, wrt=default_wrt(func, args.wrt, method),
                                            mode=args.mode, name=args.name,
                                            origin=args.target)
    except export.ExportError as exc:
        raise CLIError(f"export: {exc}") from None
    try:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise CLIError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {args.output}: {public}(...) computes the gradient of {args.target}",
          file=sys.stderr)
    return 0


def cmd_graph(args):
    from . import graph
    func, method = load_function(args.target)
    adjoint = None
    if args.adjoint:
        adjoint = make_grad(func, args, mode="reverse", method=method).source
    dot = graph.dot_graph(func, adjoint_source=adjoint)
    output = args.output
    if output is None:
        sys.stdout.write(dot)
        return 0
    fmt = os.path.splitext(output)[1].lower().lstrip(".")
    if fmt in ("dot", "gv"):
        text_out = dot
    elif fmt in ("svg", "png", "pdf"):
        try:
            text_out = None
            graph.render(dot, output, fmt)
        except graph.GraphvizError as exc:
            raise CLIError(str(exc)) from None
    else:
        raise CLIError(f"-o {output}: unknown format {fmt!r}; use .dot, .svg or .png")
    if text_out is not None:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text_out)
        except OSError as exc:
            raise CLIError(f"cannot write {output}: {exc.strerror or exc}") from None
    return 0


# ---- argument parsing ---------------------------------------------------------------------------
def _version():
    from . import __version__
    return __version__


def pipeline_pass_names():
    from . import pipeline
    return list(pipeline.PASS_NAMES)


def _pass_names():
    from . import pipeline
    return list(pipeline.PASS_NAMES) + list(pipeline.OLD_PASS_NAMES)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sourcediff",
        description="Source-to-source automatic differentiation for Python and NumPy.")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback of internal errors")
    parser.add_argument("--version", action="version", version=f"sourcediff {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in (_add_show, _add_rules, _add_export, _add_graph):
        add(sub)
    return parser


def _target_options(p, mode=True):
    p.add_argument("target", metavar="FILE.py:FUNC",
                   help="the function to differentiate (FUNC may be Class.method)")
    if mode:
        p.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                       help="reverse (default) or forward mode")
    p.add_argument("--wrt", metavar="ARGS", default=None,
                   help="the parameter(s) to differentiate with respect to, as names or "
                        "indices separated by commas (default: the first parameter; for "
                        "Class.method the first after self)")


def _add_show(sub):
    show = sub.add_parser("show", help="print the generated derivative code",
                          description="Print the generated derivative source of FUNC.")
    _target_options(show)
    show.add_argument("--no-optimize", action="store_true",
                      help="print the code before the optimization passes")
    show.add_argument("--dump-after", metavar="PASS", choices=_pass_names(),
                      help="print the program after compiler pass PASS (one of: "
                           + ", ".join(pipeline_pass_names()) + ")")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help="syntax highlighting (auto: only when writing to a terminal)")
    show.set_defaults(run=cmd_show)


def _add_rules(sub):
    rules = sub.add_parser("rules", help="list the functions with a derivative rule",
                           description="List the functions, operators and methods sourcediff "
                                       "has a derivative rule for, with the modes it supports.")
    rules.add_argument("--all", action="store_true",
                       help="also list sourcediff's own entries: the runtime helpers that "
                            "generated code calls (they have rules for higher-order "
                            "derivatives) and the transforms (nondifferentiable)")
    rules.set_defaults(run=cmd_rules)


def _add_export(sub):
    export = sub.add_parser("export", help="write a standalone module computing the gradient",
                            description="Write a module that needs only numpy and math and "
                                        "defines grad_FUNC (or --name).")
    _target_options(export)
    export.add_argument("-o", "--output", required=True, metavar="OUT.py")
    export.add_argument("--name", default=None,
                        help="name of the exported gradient function (default: grad_FUNC)")
    export.set_defaults(run=cmd_export)


def _add_graph(sub):
    graph = sub.add_parser("graph", help="draw the normalized program as a Graphviz graph",
                           description="Print the normalized program as a Graphviz DOT graph "
                                       "(one node per statement, edges for data flow).")
    _target_options(graph, mode=False)
    graph.add_argument("--adjoint", action="store_true",
                       help="also draw the statements of the reverse-mode adjoint sweep")
    graph.add_argument("-o", "--output", metavar="OUT",
                       help="write OUT.dot, or render OUT.svg / OUT.png with Graphviz `dot`")
    graph.set_defaults(run=cmd_graph)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CLIError as exc:
        print(f"sourcediff: {exc}", file=sys.stderr)
        return 2
    except SourceDiffError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `sourcediff show ... | head`: the reader went away; not an error
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.traceback:
            raise
        print(f"sourcediff: internal error: {type(exc).__name__}: {exc} "
              "(this is a bug in sourcediff; rerun with --traceback for details)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
