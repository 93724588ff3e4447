"""Expression templates and index tables used by the generator.

Every template maps operands in about [-3, 3] to values of about the same size (products go
through ``tanh``, divisions through ``1 + b * b``, powers with a non-integer exponent get a
positive base), so programs stay in the range where central finite differences are accurate.
Each entry is ``(template, tag)``; the tag is ``feature:construct`` and feeds the per-feature
tables and the shrinker's reports.
"""

from __future__ import annotations

SCALAR_UNARY = [
    ("math.sin({0:b})", "scalar:math"),
    ("math.cos({0:b})", "scalar:math"),
    ("math.tanh({0:b})", "scalar:math"),
    ("math.exp(math.sin({0:b}))", "scalar:math"),
    ("math.log(1.0 + {0} * {0})", "scalar:log"),
    ("math.sqrt(1.0 + {0} * {0})", "scalar:math"),
    ("math.atan({0:b})", "scalar:math"),
    ("math.log1p({0} * {0})", "scalar:log"),
    ("np.sin({0:b})", "scalar:np-on-float"),
    ("np.tanh({0:b})", "scalar:np-on-float"),
    ("np.exp(-{0} * {0})", "scalar:np-on-float"),
    ("-{0}", "scalar:neg"),
    ("0.5 * {0}", "scalar:arith"),
    ("{0} - 0.25", "scalar:arith"),
    ("{0} ** 2 / (1.0 + {0} ** 2)", "scalar:pow-int"),
    ("{0} ** 3 / (3.0 + {0} ** 2)", "scalar:pow-int"),
    ("(2.0 + math.sin({0:b})) ** 1.5", "scalar:pow-float"),
    ("(1.0 + {0} * {0}) ** -0.5", "scalar:pow-float"),
    ("2.0 ** math.tanh({0:b})", "scalar:pow-base"),
    ("pow(1.5 + math.cos({0:b}), 2.5)", "scalar:pow-float"),
    ("abs({0:b})", "scalar:abs"),
    ("({0} * {0}) ** 0.75", "scalar:pow-even"),
    ("{0} / (2.0 + math.cos({0:b}))", "scalar:div"),
]

SCALAR_BINARY = [
    ("0.5 * ({0} + {1})", "scalar:arith"),
    ("0.5 * ({0} - {1})", "scalar:arith"),
    ("{0} * math.tanh({1:b})", "scalar:mul"),
    ("{0} / (1.0 + {1} * {1})", "scalar:div"),
    ("math.tanh({0} * {1})", "scalar:mul"),
    ("max({0:b}, {1:b})", "scalar:max"),
    ("min({0:b}, {1:b})", "scalar:min"),
    ("math.exp(-{0} * {0}) * {1}", "scalar:math"),
    ("math.atan2({0:b}, 2.0 + {1} * {1})", "scalar:math"),
    ("{0} * {1} / (1.0 + {0} * {0} + {1} * {1})", "scalar:div"),
    ("pow(2.0 + math.sin({0:b}), 0.5 * {1})", "scalar:pow-both"),
    ("{0} - 0.5 * {1}", "scalar:arith"),
]

ARRAY_UNARY = [
    ("np.sin({0:b})", "numpy:sin"),
    ("np.cos({0:b})", "numpy:cos"),
    ("np.tanh({0:b})", "numpy:tanh"),
    ("np.exp(np.sin({0:b}))", "numpy:exp"),
    ("np.log(1.0 + {0} * {0})", "numpy:log"),
    ("np.sqrt(1.0 + {0} * {0})", "numpy:sqrt"),
    ("-{0}", "numpy:neg"),
    ("0.5 * {0}", "numpy:arith"),
    ("{0} + 0.5", "numpy:arith"),
    ("{0} ** 2 / (1.0 + {0} ** 2)", "numpy:pow-int"),
    ("(2.0 + np.cos({0:b})) ** 1.5", "numpy:pow-float"),
    ("np.abs({0:b})", "numpy:abs"),
    ("({0} * {0}) ** 0.75", "numpy:pow-even"),
    ("{0} / (1.0 + np.abs({0:b}))", "numpy:div"),
]

ARRAY_BINARY = [
    ("0.5 * ({0} + {1})", "numpy:arith"),
    ("0.5 * ({0} - {1})", "numpy:arith"),
    ("{0} * np.tanh({1:b})", "numpy:mul"),
    ("np.sin({0:b}) * {1}", "numpy:mul"),
    ("{0} / (1.0 + {1} * {1})", "numpy:div"),
    ("np.tanh({0} * {1})", "numpy:mul"),
    ("np.maximum({0:b}, {1:b})", "numpy:maximum"),
    ("np.minimum({0:b}, {1:b})", "numpy:minimum"),
    ("{0} - 0.5 * {1}", "numpy:arith"),
]

# Reductions of an array to a float.
REDUCE_FLOAT = [
    ("np.sum({0:b})", "numpy:sum"),
    ("np.mean({0:b})", "numpy:mean"),
    ("np.max({0:b})", "reduce:max"),
    ("np.min({0:b})", "reduce:min"),
    ("np.prod(1.0 + 0.2 * np.tanh({0:b}))", "reduce:prod"),
    ("np.tanh(np.prod({0:b}))", "reduce:prod"),
]

METHOD_FLOAT = [
    ("{0}.sum()", "methods:sum"),
    ("{0}.mean()", "methods:mean"),
    ("{0}.max()", "methods:max"),
]

# Axis reductions: (template with {ax} and {kd}, tag)
REDUCE_AXIS = [
    ("np.sum({0:b}, axis={ax}{kd})", "reduce:sum-axis"),
    ("np.mean({0:b}, axis={ax}{kd})", "reduce:mean-axis"),
    ("np.max({0:b}, axis={ax}{kd})", "reduce:max-axis"),
    ("np.min({0:b}, axis={ax}{kd})", "reduce:min-axis"),
    ("np.prod(np.tanh({0:b}), axis={ax}{kd})", "reduce:prod-axis"),
]

METHOD_AXIS = [
    ("{0}.sum(axis={ax})", "methods:sum-axis"),
    ("{0}.mean(axis={ax})", "methods:mean-axis"),
]

# Index expressions read from an array: (index text with I for an int, tag, is_view).
INDEX_READS = [
    ("[I]", "index:int", True),
    ("[-1]", "index:negative", True),
    ("[1:]", "index:slice", True),
    ("[:2]", "index:slice", True),
    ("[:-1]", "index:slice", True),
    ("[-2:]", "index:negative-slice", True),
    ("[::-1]", "index:reverse", True),
    ("[1:3]", "index:slice", True),
    ("[[0, 2]]", "index:fancy", False),
    ("[[2, 0, 2]]", "index:fancy-repeat", False),
    ("[[1, 1]]", "index:fancy-repeat", False),
    ("[[1, 0]]", "index:fancy", False),
    ("[:, None]", "index:newaxis", True),
    ("[None, :]", "index:newaxis", True),
    ("[np.array([True, False, True])]", "index:bool-const", False),
    ("[I, 1:]", "index:2d", True),
    ("[:, I]", "index:column", True),
    ("[:, -1]", "index:column", True),
    ("[:, 1:]", "index:2d", True),
    ("[I, :]", "index:row", True),
    ("[..., 0]", "index:ellipsis", True),
    ("[I, I]", "index:2d-element", False),
    ("[I][I]", "index:chained", False),
    ("[-1, -1]", "index:2d-element", False),
]

# Index targets for writes into a buffer: (index text, tag).
INDEX_WRITES = [
    ("[I]", "inplace:element"),
    ("[-1]", "inplace:negative"),
    ("[1:3]", "inplace:slice"),
    ("[:2]", "inplace:slice"),
    ("[1:]", "inplace:slice"),
    ("[::2]", "inplace:strided"),
    ("[:]", "inplace:whole"),
    ("[[0, 2]]", "inplace:fancy"),
    ("[[0, 0]]", "inplace:fancy-repeat"),
    ("[[1, 2, 1]]", "inplace:fancy-repeat"),
    ("[I, I]", "inplace:2d-element"),
    ("[I]", "inplace:row"),
    ("[:, I]", "inplace:column"),
    ("[I, 1:]", "inplace:2d-slice"),
    ("[3:]", "inplace:empty-slice"),
    ("[2:1]", "inplace:empty-slice"),
    ("[np.array([True, False, True])]", "inplace:bool-const"),
]

COMPARE = (">", "<", ">=", "<=")

CONSTANTS = ("0.5", "1.3", "-0.7", "2.0", "0.25", "-1.1", "0.8")

WEIGHTS = ("0.3", "0.5", "0.7", "1.1", "-0.6", "0.9", "-0.4")

# Names the compiler generates for its own use (tape, runtime module, adjoints, tangents,
# temporaries, callee derivatives ...): user code that uses them must still work.
COLLIDING = ("_tape", "_sd", "_push", "_pop", "d", "dx", "dy", "x_dot", "t1", "t2", "t3",
             "result", "item1", "seq1", "k1", "value", "cotangent", "cond1", "comp1",
             "dt1", "t1_shape1", "returned1", "stop1", "trips1", "skip1", "_i1", "dresult")
