"""A typed random generator of valid Python/NumPy programs over sourcediff's supported subset.

The generator keeps a ``Scope`` of live variables with their ``Ty`` (float, array of a known
shape, loop counter, list/tuple/dict), so every program it writes runs: shapes broadcast,
indices are in range, loops are bounded by construction, recursion has a literal depth.
Values stay bounded because every template maps about [-3, 3] into about [-3, 3].

Features (``FEATURES``) are independent switches; each construct records a ``feature:construct``
tag on the statement or expression that uses it, so a program knows which features it really
exercises.  ``generate(seed, k, features)`` is deterministic: program ``k`` of seed ``seed``
is the same program on every machine.
"""

from __future__ import annotations

import hashlib
import random
import re

import numpy as np

from . import templates as T
from .gen_alias import AliasMaker
from .gen_containers import ContainerMaker
from .gen_functions import make_closure, make_helper, make_mutating_helper, make_recursive
from .gen_loops import LoopMaker
from .program import Expr, Function, If, Line, Param, Program, leaf, sum_expr
from .scope import Names, Scope, Var
from .typesys import (
    FLOAT,
    SHAPES,
    Ty,
    arr,
    dict_of,
    differentiable,
    fits_into,
    index_shape,
    list_of,
    named_of,
    num,
    operand_pairs,
    random_value,
    tuple_of,
)

FEATURES = {
    "scalar": "float arithmetic + - * / **, unary minus, math.* and np.* on floats, abs/max/min",
    "numpy": "ndarray elementwise arithmetic and functions with broadcasting; np.sum/np.mean",
    "reduce": "np.sum/mean/max/min/prod with axis= and keepdims=",
    "linalg": "@ (matrix-vector, matrix-matrix, vector-vector) and np.dot",
    "index": "indexing, slicing, negative indices, fancy and boolean reads, None, x[i, j]",
    "methods": "x.T, x.sum(), x.reshape(...), x.mean(axis=0), x.copy(), x.dot(...)",
    "npextra": "concatenate, stack, cumsum, cumprod, outer, einsum (both forms), np.r_, np.c_, "
               "np.append, diff, flip, clip, where, norm",
    "inplace": "writes into fresh buffers: z[i] = e, z[1:3] += e, z[[0, 0]] = e, z[:] = z, "
               "v += e, v *= e",
    "alias": "in-place writes through views and aliases (reshape, .T, rows, copies, list "
             "elements, helpers writing into their parameter, stale views, list aliases)",
    "control": "if/elif/else, conditional expressions, and/or/not, chained comparisons",
    "loops": "for over range/lists/arrays/enumerate/zip, bounded while, break, continue",
    "early_return": "return inside branches and loops",
    "containers": "lists, dicts, tuples as locals and parameters, append, comprehensions, "
                  "sum(generator)",
    "helpers": "module-level helper functions with default and keyword arguments",
    "recursion": "recursive helpers with a bounded depth",
    "names": "user names that collide with generated ones; a closure and a global sharing a "
             "name",
}

ALL_FEATURES = frozenset(FEATURES)


def program_seed(seed, k):
    """The seed of program ``k`` of a campaign with seed ``seed`` (stable across runs)."""
    digest = hashlib.sha256(f"sourcediff-fuzz:{seed}:{k}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def parse_features(text):
    """``"all"``, ``"a,b"``, ``"all,-alias"`` -> a frozenset of feature names."""
    chosen = set()
    for item in (t.strip() for t in (text or "all").split(",")):
        if not item:
            continue
        if item == "all":
            chosen |= ALL_FEATURES
        elif item.startswith("-"):
            chosen.discard(_check_feature(item[1:]))
        else:
            chosen.add(_check_feature(item))
    return frozenset(chosen)


def _check_feature(name):
    if name not in FEATURES:
        raise ValueError(f"unknown feature {name!r}; features: {', '.join(FEATURES)}")
    return name


def generate(seed, k, features=ALL_FEATURES, swarm=True):
    """Program ``k`` of the campaign ``seed``, using only ``features``.

    With ``swarm`` (the default) each program enables a random half of ``features`` ("swarm
    testing": programs differ in which features they combine, and a feature that masks
    another is absent from many programs); without it every program may use all of them."""
    rng = random.Random(program_seed(seed, k))
    enabled = swarm_subset(rng, features) if swarm else frozenset(features)
    prog = Generator(rng, enabled).program()
    prog.label = f"{seed}:{k}"
    return prog


def swarm_subset(rng, features):
    """Each feature with probability 1/2; at least one of them."""
    ordered = [f for f in FEATURES if f in features]
    chosen = {f for f in ordered if rng.random() < 0.5}
    if not chosen and ordered:
        chosen.add(rng.choice(ordered))
    return frozenset(chosen)


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


class Generator:
    """Builds one random program; all randomness comes from ``rng``."""

    MAX_DEPTH = 2

    def __init__(self, rng, features):
        self.rng = rng
        self.features = features
        self.callees = []
        self.blocks = []
        self.module_names = set()

    # ---- small utilities
    def on(self, feature):
        return feature in self.features

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, seq):
        return self.rng.choice(list(seq))

    def weighted(self, options):
        """Try ``(weight, thunk)`` options in weighted random order; the first non-None
        result wins."""
        options = [(w, t) for w, t in options if w > 0]
        while options:
            total = sum(w for w, _ in options)
            r = self.rng.uniform(0, total)
            for idx, (w, _) in enumerate(options):
                r -= w
                if r <= 0 or idx == len(options) - 1:
                    break
            result = options[idx][1]()
            if result is not None:
                return result
            options.pop(idx)
        return None

    def new_type(self, scope, allow_array=True):
        """A random numeric type for a new value (often the shape of a live array)."""
        if not allow_array or not self._arrays_on() or self.chance(0.4):
            return FLOAT
        live = [scope.vars[n].ty for n in scope.arrays()]
        if live and self.chance(0.6):
            return self.pick(live)
        return arr(*self.pick([(3,), (3,), (2, 3), (3, 1), (2,), (3, 3), (1, 3)]))

    def _arrays_on(self):
        return any(self.on(f) for f in ("numpy", "reduce", "linalg", "index", "methods",
                                        "npextra", "inplace", "alias"))

    # ================================================================ expressions
    def expr(self, scope, ty, depth=2):
        """A random expression of type ``ty`` (float or array)."""
        if ty.kind == "float":
            return self.float_expr(scope, depth)
        if ty.kind == "arr":
            return self.array_expr(scope, ty.shape, depth)
        raise ValueError(f"no expressions of type {ty}")

    def var_ref(self, scope, ty):
        names = scope.of_type(ty)
        if not names:
            return None
        name = self.pick(names)
        refs = {name} if ty.kind != "float" else set()
        return leaf(name, ty, view_of=frozenset(refs))

    def const(self):
        return leaf(self.pick(T.CONSTANTS), FLOAT)

    # ---- floats
    def float_expr(self, scope, depth):
        if depth <= 0:
            return self.weighted([(4, lambda: self.var_ref(scope, FLOAT)),
                                  (1, lambda: self.float_from_any(scope)),
                                  (0.5, self.const)]) or self.const()
        d = depth - 1
        options = [
            (4, lambda: self.var_ref(scope, FLOAT)),
            (0.6, self.const),
            (3 * self.on("scalar"), lambda: self.scalar_unary(scope, d)),
            (3 * self.on("scalar"), lambda: self.scalar_binary(scope, d)),
            (1.5, lambda: self.reduce_to_float(scope, d)),
            (2 * self.on("index"), lambda: self.index_read(scope, (), d)),
            (1 * self.on("linalg"), lambda: self.vector_dot(scope, d)),
            (2 * self.on("containers"), lambda: self.container_read(scope, FLOAT)),
            (1 * self.on("containers"), lambda: self.sum_of_list(scope, FLOAT, d)),
            (1.5, lambda: self.call_expr(scope, FLOAT, d)),
            (1 * self.on("control"), lambda: self.if_expr(scope, FLOAT, d)),
            (0.5 * self.on("loops"), lambda: self.int_use(scope)),
            (1 * self.on("npextra"), lambda: self.npextra_float(scope, d)),
        ]
        return self.weighted(options) or self.float_from_any(scope) or self.const()

    def float_from_any(self, scope):
        """A float computed from any live numeric variable."""
        names = [n for n, v in scope.vars.items() if v.ty.numeric]
        if not names:
            return None
        name = self.pick(names)
        ty = scope.vars[name].ty
        if ty.kind == "float":
            return leaf(name, FLOAT)
        return Expr("np.mean({0:b})", [leaf(name, ty)], FLOAT, ["base:mean"])

    @staticmethod
    def _operand_depth(template, slot, d):
        """Operands a template repeats are kept small (their text is repeated)."""
        return 0 if template.count(f"{{{slot}") > 1 else d

    def scalar_unary(self, scope, d):
        template, tag = self.pick(T.SCALAR_UNARY)
        operand = self.float_expr(scope, self._operand_depth(template, 0, d))
        return Expr(template, [operand], FLOAT, [tag])

    def scalar_binary(self, scope, d):
        template, tag = self.pick(T.SCALAR_BINARY)
        args = [self.float_expr(scope, self._operand_depth(template, k, d)) for k in (0, 1)]
        return Expr(template, args, FLOAT, [tag])

    def reduce_to_float(self, scope, d):
        if not self._arrays_on():
            return None
        shape = self.pick([s for s in SHAPES if s])
        operand = self.array_expr(scope, shape, d)
        table = [t for t in T.REDUCE_FLOAT if self.on(t[1].split(":")[0])]
        if self.on("methods"):
            table += T.METHOD_FLOAT
        if not table:
            return None
        template, tag = self.pick(table)
        return Expr(template, [operand], FLOAT, [tag])

    def vector_dot(self, scope, d):
        n = self.pick([2, 3])
        a, b = self.array_expr(scope, (n,), d), self.array_expr(scope, (n,), d)
        template, tag = self.pick([("np.tanh(np.dot({0:b}, {1:b}))", "linalg:dot"),
                                   ("np.sin({0} @ {1})", "linalg:vecvec"),
                                   ("0.3 * np.tanh({0} @ {1})", "linalg:vecvec")])
        if self.on("methods") and self.chance(0.2):
            template, tag = "np.tanh({0}.dot({1:b}))", "methods:dot"
        return Expr(template, [a, b], FLOAT, [tag])

    def int_use(self, scope):
        names = scope.ints()
        if not names:
            return None
        name = self.pick(names)
        return Expr("0.25 * {0}", [leaf(name, scope.vars[name].ty)], FLOAT, ["loops:int-use"])

    def npextra_float(self, scope, d):
        choice = self.pick(["norm", "einsum", "trace", "clip"])
        if choice == "norm":
            return Expr("np.linalg.norm({0:b})", [self.array_expr(scope, (3,), d)], FLOAT,
                        ["npextra:norm"])
        if choice == "einsum":
            a, b = self.array_expr(scope, (3,), d), self.array_expr(scope, (3,), d)
            if self.chance(0.5):
                return Expr("np.einsum('i,i->', {0:b}, {1:b})", [a, b], FLOAT,
                            ["npextra:einsum"])
            return Expr("np.einsum({0:b}, [0], {1:b}, [0], [])", [a, b], FLOAT,
                        ["npextra:einsum-sublist"])
        if choice == "trace":
            return Expr("np.trace({0:b})", [self.array_expr(scope, (3, 3), d)], FLOAT,
                        ["npextra:trace"])
        return Expr("np.sum(np.clip({0:b}, -1.0, 1.0))", [self.array_expr(scope, (3,), d)],
                    FLOAT, ["npextra:clip"])

    # ---- arrays
    def array_expr(self, scope, shape, depth):
        ty = num(shape)
        if shape == ():
            return self.float_expr(scope, depth)
        if depth <= 0:
            return (self.var_ref(scope, ty) or self.derive(scope, shape)
                    or self.array_fallback(scope, shape))
        d = depth - 1
        options = [
            (5, lambda: self.var_ref(scope, ty)),
            (2.5 * self.on("numpy"), lambda: self.array_unary(scope, shape, d)),
            (3 * self.on("numpy"), lambda: self.array_binary(scope, shape, d)),
            (2 * self.on("index"), lambda: self.index_read(scope, shape, d)),
            (1 * self.on("methods"), lambda: self.transposed(scope, shape, d)),
            (1 * self.on("methods"), lambda: self.reshaped(scope, shape, d)),
            (1.5 * self.on("reduce"), lambda: self.axis_reduce(scope, shape, d)),
            (1.5 * self.on("linalg"), lambda: self.matmul(scope, shape, d)),
            (2 * self.on("containers"), lambda: self.container_read(scope, ty)),
            (0.7 * self.on("containers"), lambda: self.sum_of_list(scope, ty, d)),
            (1.5, lambda: self.call_expr(scope, ty, d)),
            (1 * self.on("control"), lambda: self.if_expr(scope, ty, d)),
            (1.5 * self.on("npextra"), lambda: self.npextra_array(scope, shape, d)),
        ]
        return self.weighted(options) or self.array_fallback(scope, shape)

    def derive(self, scope, shape):
        """``shape`` from a live array variable of another shape by one cheap operation
        (transpose, reshape, an index, an axis reduction, broadcasting against ones)."""
        options = []
        for name in scope.arrays():
            src = scope.vars[name].ty.shape
            base = leaf(name, arr(*src), view_of={name})
            if len(src) == 2 and src[::-1] == shape and self.on("methods"):
                options.append(Expr("{0}.T", [base], arr(*shape), ["methods:T"], {name}))
            if int(np.prod(src)) == int(np.prod(shape)) and self.on("methods"):
                args = ", ".join(map(str, shape))
                options.append(Expr(f"{{0}}.reshape({args})", [base], arr(*shape),
                                    ["methods:reshape"], {name}))
            for text, tag, is_view in T.INDEX_READS:
                if "I" not in text and self.on("index") and index_shape(src, text) == shape:
                    options.append(Expr("{0}" + text, [base], arr(*shape), [tag],
                                        {name} if is_view else ()))
            if len(src) == 2 and shape in (src[1:], src[:1]) and self.on("reduce"):
                ax = 0 if shape == src[1:] else 1
                options.append(Expr(f"np.mean({{0:b}}, axis={ax})", [base], arr(*shape),
                                    ["reduce:mean-axis"]))
            pair = (src, shape) in operand_pairs(shape) or (shape, src) in operand_pairs(shape)
            if src != shape and pair and self.on("numpy"):
                options.append(Expr(f"{{0}} * np.ones({shape!r})", [base], arr(*shape),
                                    ["numpy:broadcast"]))
        return self.pick(options) if options else None

    def array_fallback(self, scope, shape):
        """An array of ``shape`` from a float: ``f * np.ones(shape)`` (always valid)."""
        f = self.float_expr(scope, 0)
        return Expr(f"{{0}} * np.ones({shape!r})", [f], arr(*shape), ["base:ones"])

    def array_unary(self, scope, shape, d):
        template, tag = self.pick(T.ARRAY_UNARY)
        operand = self.array_expr(scope, shape, self._operand_depth(template, 0, d))
        return Expr(template, [operand], arr(*shape), [tag])

    def array_binary(self, scope, shape, d):
        template, tag = self.pick(T.ARRAY_BINARY)
        a, b = self.pick(operand_pairs(shape))
        tags = [tag] + (["numpy:broadcast"] if a != b else [])
        args = [self.array_expr(scope, s, self._operand_depth(template, k, d))
                for k, s in enumerate((a, b))]
        return Expr(template, args, arr(*shape), tags)

    def index_read(self, scope, shape, d):
        """``a[...]`` giving ``shape`` from an array variable (or expression) ``a``."""
        sources = [n for n in scope.arrays()]
        options = []
        for src_shape in {scope.vars[n].ty.shape for n in sources} | {(3,), (2, 3)}:
            for text, tag, is_view in T.INDEX_READS:
                idx = self._fill_index(scope, text, src_shape)
                if idx is not None and index_shape(src_shape, idx[1]) == shape:
                    options.append((src_shape, idx, tag, is_view))
        mask = shape == () and self.chance(0.15)
        if mask:
            return self._mask_or_empty_read(scope, d)
        if not options:
            return None
        src_shape, (template, _), tag, is_view = self.pick(options)
        base = self.var_ref(scope, arr(*src_shape)) if self.chance(0.8) else None
        base = base or self.array_expr(scope, src_shape, d)
        refs = base.view_of if (is_view and shape != ()) else frozenset()
        return Expr("{0}" + template, [base], num(shape), [tag], view_of=refs)

    def _fill_index(self, scope, text, shape):
        """Replace each ``I`` in an index text by an int literal or a loop counter in range;
        return (template, text for shape checking) or None."""
        if "I" not in text:
            return text, text
        template, check = "", ""
        dims = iter(range(len(shape)))
        for ch in text:
            if ch != "I":
                template += ch
                check += ch
                continue
            dim = next(dims, None)
            if dim is None:
                return None
            size = shape[dim]
            counters = [n for n in scope.ints() if scope.vars[n].ty.length <= size]
            if counters and self.chance(0.5):
                name = self.pick(counters)
                template += name
                check += str(scope.vars[name].ty.length - 1)
            else:
                k = self.rng.randrange(-size, size)
                template += str(k)
                check += str(k)
        return template, check

    def _mask_or_empty_read(self, scope, d):
        base = self.var_ref(scope, arr(3,)) or self.array_expr(scope, (3,), d)
        if self.chance(0.5):
            c = self.pick(["0.0", "0.3", "-0.2"])
            return Expr(f"np.sum({{0}}[{{0}} > {c}])", [base], FLOAT, ["index:bool-mask"])
        return Expr("np.sum({0}[2:1]) + np.sum({0}[3:])", [base], FLOAT, ["index:empty"])

    def transposed(self, scope, shape, d):
        if len(shape) != 2:
            return None
        src = self.array_expr(scope, (shape[1], shape[0]), d)
        template, tag = self.pick([("{0}.T", "methods:T"), ("np.transpose({0:b})",
                                   "methods:transpose"), ("{0}.swapaxes(0, 1)",
                                   "methods:swapaxes")])
        return Expr(template, [src], arr(*shape), [tag], view_of=src.view_of)

    def reshaped(self, scope, shape, d):
        size = int(np.prod(shape))
        sources = [s for s in SHAPES if s and s != shape and int(np.prod(s)) == size]
        if not sources:
            return None
        src = self.array_expr(scope, self.pick(sources), d)
        if len(shape) == 1 and self.chance(0.4):
            template, tag = self.pick([("{0}.ravel()", "methods:ravel"),
                                       ("{0}.flatten()", "methods:flatten")])
            refs = src.view_of if tag == "methods:ravel" else frozenset()
            return Expr(template, [src], arr(*shape), [tag], view_of=refs)
        args = ", ".join(map(str, shape))
        template = self.pick([f"{{0}}.reshape({args})", f"np.reshape({{0:b}}, {shape!r})"])
        return Expr(template, [src], arr(*shape), ["methods:reshape"], view_of=src.view_of)

    def axis_reduce(self, scope, shape, d):
        options = []
        for src in SHAPES:
            if len(src) != 2:
                continue
            for ax in (0, 1):
                out = tuple(n for i, n in enumerate(src) if i != ax)
                keep = tuple(1 if i == ax else n for i, n in enumerate(src))
                if out == shape:
                    options.append((src, ax, ""))
                if keep == shape:
                    options.append((src, ax, ", keepdims=True"))
        if not options:
            return None
        src, ax, kd = self.pick(options)
        table = list(T.REDUCE_AXIS)
        if self.on("methods") and not kd:
            table += T.METHOD_AXIS
        template, tag = self.pick(table)
        tags = [tag] + (["reduce:keepdims"] if kd else [])
        text = template.replace("{ax}", str(ax)).replace("{kd}", kd)
        return Expr(text, [self.array_expr(scope, src, d)], arr(*shape), tags)

    def matmul(self, scope, shape, d):
        k = self.pick([2, 3])
        if len(shape) == 1:
            a_shape, b_shape = self.pick([((shape[0], k), (k,)), ((k,), (k, shape[0]))])
        else:
            a_shape, b_shape = (shape[0], k), (k, shape[1])
        a, b = self.array_expr(scope, a_shape, d), self.array_expr(scope, b_shape, d)
        template, tag = self.pick([("np.tanh(0.5 * ({0} @ {1}))", "linalg:matmul"),
                                   ("np.sin(np.dot({0:b}, {1:b}))", "linalg:dot"),
                                   ("0.5 * np.tanh({0} @ {1})", "linalg:matmul")])
        return Expr(template, [a, b], arr(*shape), [tag])

    def npextra_array(self, scope, shape, d):
        options = [lambda: self._same_shape_extra(scope, shape, d)]
        if len(shape) == 1:
            options.append(lambda: self._join_1d(scope, shape[0], d))
            options.append(lambda: self._cumulative(scope, shape, d))
        if len(shape) == 2:
            options.append(lambda: self._build_2d(scope, shape, d))
        return self.pick(options)()

    def _same_shape_extra(self, scope, shape, d):
        if self.chance(0.15):
            # branches that are numbers under a condition that is an array: the result has
            # the condition's shape (a number's adjoint sums over it)
            a, b = self.array_expr(scope, shape, 0), self.float_expr(scope, 0)
            template = self.pick(["np.where({0} > 0.0, {1}, 0.1 * {1})",
                                  "np.where({0} > 0.5, np.sin({1:b}), {0})"])
            return Expr(template, [a, b], arr(*shape), ["npextra:where-number"])
        a = self.array_expr(scope, shape, d)
        template, tag = self.pick([("np.clip({0:b}, -1.0, 1.0)", "npextra:clip"),
                                   ("np.where({0} > 0.0, {0}, 0.1 * {0})", "npextra:where"),
                                   ("np.flip({0:b})", "npextra:flip"),
                                   ("np.square(np.tanh({0:b}))", "npextra:square"),
                                   # exact zeros (clipped, masked) through a partial that is
                                   # infinite at 0 or 1: their derivative is 0
                                   ("np.sqrt(np.maximum({0}, 0.0))", "npextra:steep-zero"),
                                   ("np.cbrt(np.clip({0}, 0.0, None)) * {0}",
                                    "npextra:steep-zero"),
                                   ("np.where({0} > 0.0, np.sqrt(np.where({0} > 0.0, {0}, 0.0)),"
                                    " 0.0)", "npextra:steep-zero"),
                                   ("np.arcsin(np.clip({0}, -1.0, 1.0))", "npextra:steep-zero")])
        return Expr(template, [a], arr(*shape), [tag])

    def _join_1d(self, scope, n, d):
        if n < 2:
            return None
        k = self.rng.randrange(1, n)
        a, b = self.array_expr(scope, (k,), d), self.array_expr(scope, (n - k,), d)
        template, tag = self.pick([("np.concatenate([{0:b}, {1:b}])", "npextra:concatenate"),
                                   ("np.r_[{0:b}, {1:b}]", "npextra:r_"),
                                   ("np.append({0:b}, {1:b})", "npextra:append"),
                                   ("np.hstack([{0:b}, {1:b}])", "npextra:hstack")])
        return Expr(template, [a, b], arr(n), [tag])

    def _cumulative(self, scope, shape, d):
        if self.chance(0.3):
            src = self.array_expr(scope, (shape[0] + 1,), d)
            return Expr("np.diff({0:b})", [src], arr(*shape), ["npextra:diff"])
        a = self.array_expr(scope, shape, d)
        template, tag = self.pick([("np.cumsum({0:b})", "npextra:cumsum"),
                                   ("np.cumprod(np.tanh({0:b}))", "npextra:cumprod"),
                                   ("np.cumprod({0:b})", "npextra:cumprod")])
        return Expr(template, [a], arr(*shape), [tag])

    def _build_2d(self, scope, shape, d):
        a_n, b_n = shape
        choice = self.pick(["outer", "stack", "c_", "einsum", "einsum-sublist"])
        if choice == "outer":
            a, b = self.array_expr(scope, (a_n,), d), self.array_expr(scope, (b_n,), d)
            return Expr("np.outer({0:b}, {1:b})", [a, b], arr(*shape), ["npextra:outer"])
        if choice == "stack" and a_n == 2:
            a, b = self.array_expr(scope, (b_n,), d), self.array_expr(scope, (b_n,), d)
            return Expr("np.stack([{0:b}, {1:b}])", [a, b], arr(*shape), ["npextra:stack"])
        if choice == "c_" and b_n == 2:
            a, b = self.array_expr(scope, (a_n,), d), self.array_expr(scope, (a_n,), d)
            return Expr("np.c_[{0:b}, {1:b}]", [a, b], arr(*shape), ["npextra:c_"])
        if choice.startswith("einsum"):
            m = self.array_expr(scope, (a_n, b_n), d)
            v = self.array_expr(scope, (b_n,), d)
            if choice == "einsum":
                return Expr("np.einsum('ij,j->ij', {0:b}, {1:b})", [m, v], arr(*shape),
                            ["npextra:einsum"])
            return Expr("np.einsum({0:b}, [0, 1], {1:b}, [1], [0, 1])", [m, v],
                        arr(*shape), ["npextra:einsum-sublist"])
        return None

    # ---- shared by floats and arrays
    def if_expr(self, scope, ty, d):
        a, b = self.expr(scope, ty, d), self.expr(scope, ty, d)
        refs = a.view_of | b.view_of
        return Expr("{0} if {1} else {2}", [a, self.cond(scope, 0), b], ty,
                    ["control:ifexp"], view_of=refs)

    def call_expr(self, scope, ty, d):
        callees = [c for c in self.callees if not c.mutates
                   and (c.ret == ty or (c.poly and ty.numeric))]
        if not callees:
            return None
        return self.call(scope, self.pick(callees), d, ty=ty)

    def call(self, scope, c, d, args=None, ty=None):
        """A call of ``c``: required parameters positionally, optional ones left out, given
        positionally or by keyword.  ``args`` fixes some arguments by position."""
        parts, exprs, keywords = [], [], False
        for pos, (name, pty, default, kwonly) in enumerate(c.params):
            if c.poly and pos == 0:
                pty = ty
            if default is not None and self.chance(0.4):
                keywords = True     # a skipped optional parameter: name the later ones
                continue
            if args and pos in args:
                e = args[pos]
            elif pty.kind == "count":
                e = leaf(str(self.rng.randint(1, 3)))
            else:
                e = self.expr(scope, pty, d)
            exprs.append(e)
            slot = f"{{{len(exprs) - 1}:b}}"
            keywords = keywords or kwonly or (default is not None and self.chance(0.5))
            parts.append(f"{name}={slot}" if keywords else slot)
        tags = [c.tag] + (["helpers:keyword"] if keywords else [])
        refs = frozenset().union(*(e.view_of for e in exprs)) if exprs else frozenset()
        ret = ty if c.poly else c.ret
        return Expr(f"{c.name}({', '.join(parts)})", exprs, ret, tags, view_of=refs)

    def cond(self, scope, depth=1):
        """A boolean condition comparing values (never a derivative-carrying value); its
        operands have expression depth ``depth``."""
        simple = self._compare(scope, depth)
        if not self.on("control"):
            return simple
        kind = self.pick(["plain", "plain", "and", "or", "not", "chain"])
        if kind == "and":
            return Expr("{0} and {1}", [simple, self._compare(scope, depth)], None,
                        ["control:and"])
        if kind == "or":
            return Expr("{0} or {1}", [simple, self._compare(scope, depth)], None,
                        ["control:or"])
        if kind == "not":
            return Expr("not {0}", [simple], None, ["control:not"])
        if kind == "chain":
            a, b, c = (self.float_expr(scope, depth) for _ in range(3))
            return Expr("{0} < {1} < {2}", [a, b, c], None, ["control:chained"])
        return simple

    def _compare(self, scope, depth):
        ints = scope.ints()
        if ints and self.chance(0.25):
            name = self.pick(ints)
            text = self.pick([f"{name} % 2 == 0", f"{name} == 1", f"{name} > 0"])
            return Expr(text, [], None, [self._control_tag("int-test")])
        a = self.float_expr(scope, depth)
        b = self.float_expr(scope, 0) if self.chance(0.5) else leaf(self.pick(T.CONSTANTS))
        return Expr(f"{{0}} {self.pick(T.COMPARE)} {{1}}", [a, b], None,
                    [self._control_tag("compare")])

    def _control_tag(self, construct):
        """Conditions belong to ``control`` when it is on; loops, early returns and aliasing
        patterns need them too, as glue."""
        return f"{'control' if self.on('control') else 'base'}:{construct}"

    # ---- containers
    def container_read(self, scope, ty):
        """``c[k]`` / ``c['key']`` / ``c[k][j]`` of a container variable, of type ``ty``."""
        paths = []
        for name, var in scope.vars.items():
            for text, t in self._paths(var.ty, name):
                if t == ty:
                    paths.append(text)
        if not paths:
            return None
        text = self.pick(paths)
        refs = frozenset({re.split(r"[\[.]", text)[0]}) if ty.kind != "float" else frozenset()
        return leaf(text, ty, ["containers:read"], view_of=refs)

    def _paths(self, ty, prefix, depth=2):
        if depth == 0:
            return []
        out = []
        if ty.kind == "list":
            for k in list(range(ty.length)) + ([-1] if ty.length else []):
                out.append((f"{prefix}[{k}]", ty.elem))
                out += self._paths(ty.elem, f"{prefix}[{k}]", depth - 1)
        elif ty.kind == "tuple":
            for k, t in enumerate(ty.items):
                out.append((f"{prefix}[{k}]", t))
                out += self._paths(t, f"{prefix}[{k}]", depth - 1)
        elif ty.kind == "dict":
            for k, t in ty.items:
                out.append((f"{prefix}[{k!r}]", t))
                out += self._paths(t, f"{prefix}[{k!r}]", depth - 1)
        elif ty.kind == "named":
            for k, (field_name, t) in enumerate(ty.items):
                out.append((f"{prefix}.{field_name}", t))
                out.append((f"{prefix}[{k}]", t))
        return out

    def sum_of_list(self, scope, ty, d):
        """``sum(lst)``, ``sum(g(v) for v in lst)`` or ``max(lst)`` over a list variable."""
        lists = [n for n, v in scope.vars.items() if v.ty.kind == "list" and v.ty.elem == ty
                 and (v.ty.length > 0 or ty == FLOAT)]
        if not lists:
            return None
        name = self.pick(lists)
        if ty == FLOAT and scope.vars[name].ty.length > 0 and self.chance(0.2):
            return Expr(f"max({name})", [], FLOAT, ["containers:max-of-list"])
        if self.chance(0.4):
            return Expr(f"sum({name})", [], ty, ["containers:sum"])
        inner = scope.child()
        v = inner.names.fresh("v")
        inner.add(v, ty)
        body = self.expr(inner, ty, 1)
        return Expr(f"sum({{0:b}} for {v} in {name})", [body], ty, ["containers:genexp"])

    # ================================================================ statements
    def body(self, scope, count):
        out = []
        for _ in range(count):
            out += self.statement(scope)
        return out

    def statement(self, scope):
        """One random statement (or a short group of them); returns a list."""
        deep = scope.depth >= self.MAX_DEPTH
        options = [
            (4, lambda: self.assign_new(scope)),
            (2, lambda: self.reassign(scope)),
            (0.7, lambda: self.tuple_assign(scope)),
            (2 * self.on("inplace"), lambda: self.inplace_stmt(scope)),
            (2.5 * self.on("alias"), lambda: self.alias_stmt(scope)),
            (1.5 * self.on("control") * (not deep), lambda: self.if_stmt(scope)),
            (1.5 * self.on("loops") * (not deep), lambda: self.loop_stmt(scope)),
            (1.2 * self.on("early_return") * (scope.depth > 0 or self.chance(0.5)),
             lambda: self.early_return(scope)),
            (1.5 * self.on("containers"), lambda: self.container_stmt(scope)),
            (0.6 * self.on("loops") * scope.in_loop, lambda: self.break_continue(scope)),
        ]
        return self.weighted(options) or self.assign_new(scope)

    def assign_new(self, scope, ty=None, prefix="t"):
        ty = ty or self.new_type(scope)
        e = self.expr(scope, ty, self.rng.choice([1, 1, 2, 2, 3]))
        scope.escape(e.view_of)
        name = scope.names.fresh(prefix)
        scope.add(name, ty)
        return [Line(f"{name} = {{0:b}}", [e])]

    def reassign(self, scope):
        names = [n for n, v in scope.vars.items() if v.ty.numeric and not v.param]
        if not names:
            return None
        name = self.pick(names)
        ty = scope.vars[name].ty
        e = self.expr(scope, ty, 2)
        scope.escape(e.view_of)
        scope.vars[name] = Var(ty)
        return [Line(f"{name} = {{0:b}}", [e])]

    def tuple_assign(self, scope):
        """``a, b = e1, e2`` (new names), or a swap of two variables of one type."""
        floats = [n for n in scope.of_type(FLOAT) if not scope.vars[n].param]
        if len(floats) >= 2 and self.chance(0.3):
            a, b = self.rng.sample(floats, 2)
            return [Line(f"{a}, {b} = {b}, {a}", [], ["base:swap"])]
        t1, t2 = self.new_type(scope), self.new_type(scope)
        e1, e2 = self.expr(scope, t1, 2), self.expr(scope, t2, 2)
        scope.escape(e1.view_of | e2.view_of)
        a, b = scope.names.fresh("u"), scope.names.fresh("u")
        scope.add(a, t1)
        scope.add(b, t2)
        return [Line(f"{a}, {b} = {{0:b}}, {{1:b}}", [e1, e2], ["base:tuple-assign"])]

    def update_expr(self, scope, name):
        """A bounded new value for the accumulator ``name`` (which it reads)."""
        ty = scope.vars[name].ty
        e = self.expr(scope, ty, 2)
        template = self.pick(["0.5 * %s + 0.5 * {0}", "np.tanh(%s + {0})",
                              "0.7 * %s + 0.3 * {0}"])
        return Expr(template % name, [e], ty, ["loops:carried"])

    # ---- in-place writes into fresh buffers
    def inplace_stmt(self, scope):
        owned = [n for n, v in scope.vars.items() if v.owned and v.ty.kind == "arr"]
        if not owned or self.chance(0.25):
            return self.new_buffer(scope)
        name = self.pick(owned)
        return self.weighted([(3, lambda: self.index_write(scope, name)),
                              (1.5, lambda: self.whole_aug(scope, name)),
                              (0.7, lambda: self.self_write(scope, name)),
                              (1, lambda: self.float_aug(scope))])

    def new_buffer(self, scope):
        shape = self.pick([(3,), (3,), (2, 3), (3, 3), (2,)])
        ty = arr(*shape)
        src = self.var_ref(scope, ty)
        options = [(f"np.zeros({shape!r})", [], "inplace:zeros")]
        if src is not None:
            options += [("{0}.copy()", [src], "inplace:copy"),
                        ("np.zeros_like({0:b})", [src], "inplace:zeros_like"),
                        ("np.array({0:b})", [src], "inplace:np-array-copy"),
                        ("np.copy({0:b})", [src], "inplace:np-copy")]
        if src is not None and self.chance(0.6):
            options = options[1:]
        template, args, tag = self.pick(options)
        name = scope.names.fresh("z")
        scope.add(name, ty, owned=True)
        return [Line(f"{name} = {template}", args, [tag])] + self.index_write(scope, name)

    def _write_targets(self, scope, name, table):
        shape = scope.vars[name].ty.shape
        out = []
        for text, tag in table:
            idx = self._fill_index(scope, text, shape)
            if idx is None:
                continue
            region = index_shape(shape, idx[1])
            if region is not None:
                out.append((idx[0], region, tag))
        return out

    def index_write(self, scope, name, tag_prefix=None):
        """``z[idx] = e`` or ``z[idx] op= e`` with ``e`` broadcasting into the region."""
        targets = self._write_targets(scope, name, T.INDEX_WRITES)
        idx, region, tag = self.pick(targets)
        value_shape = self.pick(fits_into(region) or [()])
        if "bool" in tag or "empty" in tag:
            value_shape = ()
        e = self.array_expr(scope, value_shape, 2)
        op = self.pick(["=", "=", "+=", "-=", "*="])
        if op == "*=":
            e = Expr("1.0 + 0.3 * np.tanh({0:b})", [e], e.ty)
        if tag_prefix:
            tag = tag_prefix + tag.split(":")[1]
        return [Line(f"{name}{idx} {op} {{0:b}}", [e], [tag])]

    def whole_aug(self, scope, name, tag="inplace:array-aug"):
        """``z += e`` / ``z *= e`` / ``z -= e`` / ``z /= e`` on a whole array (in place)."""
        shape = scope.vars[name].ty.shape
        e = self.array_expr(scope, self.pick(fits_into(shape)), 2)
        op = self.pick(["+=", "-=", "*=", "/="])
        if op == "*=":
            e = Expr("1.0 + 0.3 * np.tanh({0:b})", [e], e.ty)
        elif op == "/=":
            e = Expr("2.0 + np.cos({0:b})", [e], e.ty)
        return [Line(f"{name} {op} {{0:b}}", [e], [tag])]

    def self_write(self, scope, name):
        """A write whose value reads the same buffer: ``z[:] = z``, ``z[1:] = z[:-1]``."""
        shape = scope.vars[name].ty.shape
        if len(shape) != 1 or shape[0] < 3:
            return [Line(f"{name}[:] = {name}", [], ["inplace:self-copy"])]
        text = self.pick([f"{name}[:] = {name}", f"{name}[1:] = {name}[:-1]",
                          f"{name}[:] = {name}[::-1]", f"{name}[:2] += {name}[1:]"])
        return [Line(text, [], ["inplace:self-overlap"])]

    def float_aug(self, scope):
        names = [n for n in scope.of_type(FLOAT) if not scope.vars[n].param]
        if not names:
            return None
        name = self.pick(names)
        op = self.pick(["+=", "-=", "*="])
        e = self.float_expr(scope, 2)
        if op == "*=":
            e = Expr("1.0 + 0.3 * math.tanh({0:b})" if self.on("scalar")
                     else "1.0 + 0.3 * np.tanh({0:b})", [e], FLOAT)
        return [Line(f"{name} {op} {{0:b}}", [e], ["inplace:float-aug"])]

    # ---- writes through views and aliases
    def alias_stmt(self, scope):
        return AliasMaker(self, scope).statement()

    # ---- control flow
    def if_stmt(self, scope):
        """if/elif/else; every branch assigns the branch outputs, so they are defined after."""
        pre, outputs = [], []
        for _ in range(self.rng.randint(1, 2)):
            existing = [n for n, v in scope.vars.items() if v.ty.numeric and not v.param]
            if existing and self.chance(0.5):
                outputs.append(self.pick(existing))
            else:
                pre += self.assign_new(scope, prefix="b")
                outputs.append(scope.defined[-1])
        outputs = list(dict.fromkeys(outputs))
        n_branches = self.rng.choice([1, 1, 1, 2, 3])
        conds, branches = [], []
        for _ in range(n_branches):
            conds.append(self.cond(scope))
            branches.append(self._branch(scope, outputs))
        orelse = self._branch(scope, outputs) if self.chance(0.7) else []
        tags = ["control:if"] + (["control:elif"] if n_branches > 1 else []) + (
            ["control:else"] if orelse else [])
        return pre + [If(conds, branches, orelse, tags)]

    def _branch(self, scope, outputs):
        inner = scope.child()
        body = self.body(inner, self.rng.randint(0, 2))
        for name in outputs:
            ty = scope.vars[name].ty
            e = self.expr(inner, ty, 2)
            inner.escape(e.view_of)
            scope.escape(e.view_of)
            body.append(Line(f"{name} = {{0:b}}", [e]))
        self._merge_ownership(scope, outputs)
        return body

    @staticmethod
    def _merge_ownership(scope, outputs):
        for name in outputs:
            if name in scope.vars:
                scope.vars[name] = Var(scope.vars[name].ty)

    def early_return(self, scope):
        value = self.expr(scope, scope.ret, 2) if scope.ret.numeric else None
        if value is None:
            return None
        cond = self.cond(scope)
        return [If([cond], [[Line("return {0:b}", [value], ["early_return:return"])]], [],
                   [self._control_tag("if")])]

    def break_continue(self, scope):
        word = self.pick(["break", "continue"])
        return [If([self.cond(scope)], [[Line(word, [], [f"loops:{word}"])]], [],
                   [self._control_tag("if")])]

    def loop_stmt(self, scope):
        return LoopMaker(self, scope).statement()

    # ---- containers
    def container_stmt(self, scope):
        return ContainerMaker(self, scope).statement()

    # ================================================================ functions
    def new_names(self):
        """A name allocator for one function: module-level names are never shadowed."""
        return Names(self.rng, self.on("names"), self.module_names)

    def add_block(self, block, callee=None):
        self.blocks.append(block)
        if callee is not None:
            self.callees.append(callee)

    def program(self):
        """The whole module: helpers (by feature), then the main function ``f``."""
        if self.on("names") and self.chance(0.6):
            make_closure(self)
        if self.on("helpers"):
            for _ in range(self.rng.choice([1, 1, 2])):
                make_helper(self)
        if self.on("recursion"):
            make_recursive(self)
        if self.on("alias") and self.chance(0.5):
            make_mutating_helper(self)
        names = self.new_names()
        params = self._main_params(names)
        self.blocks.append(self._main_function(params, names))
        values = [random_value(ty, self.rng) for _, ty in params]
        diff = [p for p, ty in params if differentiable(ty)]
        wrt, single = self._choose_wrt(diff)
        return Program(self.blocks, params, values, wrt,
                       wrt_style=self.pick(["index", "index", "name"]),
                       features=self.features, redraw_seed=self.rng.randrange(2**31),
                       meta={"wrt_single": single})

    def _choose_wrt(self, diff):
        r = self.rng.random()
        if r < 0.7 or len(diff) == 1:
            return tuple(diff), len(diff) == 1 and self.chance(0.5)
        if r < 0.9:
            return (self.pick(diff),), True
        k = self.rng.randint(1, len(diff))
        return tuple(sorted(self.rng.sample(diff, k), key=diff.index)), False

    def _main_params(self, names):
        """The main function's parameters: floats, arrays, and (containers) a list, dict or
        tuple; (loops) an int count."""
        options = [FLOAT, FLOAT]
        if self._arrays_on():
            options += [arr(3), arr(3), arr(2, 3), arr(3, 1), arr(2), arr(3, 3)]
        params = []
        for _ in range(self.rng.randint(1, 3)):
            params.append(self.pick(options))
        if self.on("containers") and self.chance(0.6):
            params.append(self._container_param_type())
        if self.on("loops") and self.chance(0.2):
            params.append(Ty("count", length=self.pick([2, 3])))
        named = []
        for ty in params:
            base = {"float": "x", "arr": "a", "count": "n"}.get(ty.kind, "p")
            named.append((names.fresh(base), ty))
        return named

    def _container_param_type(self):
        if not self._arrays_on():
            return self.pick([list_of(FLOAT, 3), dict_of(a=FLOAT, b=FLOAT),
                              tuple_of(FLOAT, FLOAT)])
        return self.pick([list_of(FLOAT, 3), list_of(arr(3), 2),
                          dict_of(w=arr(2, 3), b=arr(2)), dict_of(a=FLOAT, v=arr(3)),
                          tuple_of(FLOAT, arr(3)), list_of(arr(2, 3), 2),
                          named_of(FLOAT, arr(3))])

    def _main_function(self, params, names):
        scope = Scope({}, names)
        for name, ty in params:
            scope.add(name, ty, param=True)
        n = self.rng.randint(2, 7)
        body = self.body(scope, n)
        if self.on("early_return") and self.chance(0.5):
            body += self.early_return(scope) + self.body(scope, self.rng.randint(1, 2))
        body.append(self.final_return(scope))
        tags = ["loops:int-param"] if any(t.kind == "count" for _, t in params) else []
        return Function("f", [Param(n) for n, _ in params], body, frozenset(tags))

    def final_return(self, scope, prefix_tags=()):
        """``return`` a weighted sum of (reductions of) many live values, so that every
        statement matters."""
        terms = []
        live = [n for n in scope.vars if n not in scope.ints()]
        recent = live[-6:]
        others = [n for n in live if n not in recent]
        chosen = recent + self.rng.sample(others, min(len(others), 2))
        for name in chosen:
            terms += self._reduce_terms(name, scope.vars[name].ty)
        if not terms:
            terms = ["0.0"]
        weighted = [leaf(f"{self.pick(T.WEIGHTS)} * {t}", FLOAT) for t in terms[:8]]
        return Line("return {0:b}", [sum_expr(weighted, FLOAT)], prefix_tags)

    def _reduce_terms(self, text, ty):
        if ty.kind == "float":
            return [text]
        if ty.kind == "arr":
            return [f"np.sum({text})"]
        if ty.kind == "list":
            if ty.elem.kind == "float":
                return [f"sum({text})"]
            if ty.length and ty.elem.kind == "arr":
                return [f"np.sum(sum({text}))"]
            return []
        if ty.kind == "tuple":
            return [t for k, item in enumerate(ty.items)
                    for t in self._reduce_terms(f"{text}[{k}]", item)]
        if ty.kind == "dict":
            return [t for k, item in ty.items for t in self._reduce_terms(f"{text}[{k!r}]",
                                                                         item)]
        if ty.kind == "named":
            return [t for k, item in ty.items for t in self._reduce_terms(f"{text}.{k}", item)]
        return []
