"""Rules for Python's operators, builtins and the `math` module.

Each line gives the partial derivative of the output with respect to each input; reverse and
forward mode are both read from it (see `registry.elementwise`).
"""

import builtins
import math
import operator

from .. import runtime
from .registry import elementwise, nondifferentiable, rule

# ---- arithmetic operators: y = a (op) b
elementwise(operator.add, "a, b", a="1", b="1")
elementwise(operator.sub, "a, b", a="1", b="-1")
rule(operator.mul, "a, b", elementwise=True,
     adjoint={"a": "d[y] * b", "b": "d[y] * a"},
     tangent={"a": "d[a] * b", "b": "a * d[b]"})
rule(operator.truediv, "a, b", elementwise=True,
     adjoint={"a": "d[y] / b", "b": "-d[y] * y / b"},
     tangent={"a": "d[a] / b", "b": "-d[b] * y / b"})
rule(operator.pow, "a, b", elementwise=True,
     adjoint={"a": "_sd.times(d[y], b * a ** (b - 1))", "b": "d[y] * (y * _sd.log_base(a))"},
     tangent={"a": "_sd.times(d[a], b * a ** (b - 1))", "b": "d[b] * (y * _sd.log_base(a))"})
elementwise(operator.mod, "a, b", a="1", b="-((a - y) / b)")
elementwise(operator.neg, "a", a="-1")
elementwise(operator.pos, "a", a="1")
rule(operator.matmul, "a, b",
     adjoint={"a": "_sd.matmul_back_a(d[y], a, b)", "b": "_sd.matmul_back_b(d[y], a, b)"},
     tangent={"a": "d[a] @ b", "b": "a @ d[b]"})

# ---- builtins
elementwise(builtins.abs, "x", x="_sd.sign(x)")
elementwise(builtins.float, "x", x="1")
elementwise(builtins.pow, "a, b", steep="a", a="b * a ** (b - 1)", b="y * _sd.log_base(a)")
rule(builtins.max, "a, b",
     adjoint={"a": "d[y] if a >= b else 0.0", "b": "0.0 if a >= b else d[y]"},
     tangent={"a": "d[a] if a >= b else 0.0", "b": "0.0 if a >= b else d[b]"})
rule(builtins.min, "a, b",
     adjoint={"a": "d[y] if a <= b else 0.0", "b": "0.0 if a <= b else d[y]"},
     tangent={"a": "d[a] if a <= b else 0.0", "b": "0.0 if a <= b else d[b]"})

# ---- lists
rule(runtime.append, "seq, item",
     adjoint={"seq": "_sd.append_back_seq(d[y], seq)", "item": "_sd.append_back_item(d[y])"},
     tangent={None: "_sd.append_tangent(seq, d[seq], d[item])"})
rule(builtins.sum, "seq, start=0",
     adjoint={"seq": "_sd.sum_back_list(d[y], seq)", "start": "d[y]"},
     tangent={None: "_sd.sum_tangent_list(d[seq], d[start])"})

rule(runtime.max_of, "seq",
     adjoint={"seq": "_sd.max_of_back(d[y], seq)"},
     tangent={"seq": "_sd.max_of_tangent(d[seq], seq)"})
rule(runtime.min_of, "seq",
     adjoint={"seq": "_sd.min_of_back(d[y], seq)"},
     tangent={"seq": "_sd.min_of_tangent(d[seq], seq)"})

# ---- math
elementwise(math.sin, "x", x="math.cos(x)")
elementwise(math.cos, "x", x="-math.sin(x)")
elementwise(math.tan, "x", x="1.0 + y * y")
elementwise(math.asin, "x", steep="x", x="1.0 / math.sqrt(1.0 - x * x)")
elementwise(math.acos, "x", steep="x", x="-1.0 / math.sqrt(1.0 - x * x)")
elementwise(math.atan, "x", x="1.0 / (1.0 + x * x)")
elementwise(math.sinh, "x", x="math.cosh(x)")
elementwise(math.cosh, "x", x="math.sinh(x)")
elementwise(math.tanh, "x", x="1.0 - y * y")
elementwise(math.asinh, "x", x="1.0 / math.sqrt(x * x + 1.0)")
elementwise(math.acosh, "x", steep="x", x="1.0 / math.sqrt(x * x - 1.0)")
elementwise(math.atanh, "x", x="1.0 / (1.0 - x * x)")
elementwise(math.exp, "x", x="y")
elementwise(math.expm1, "x", x="y + 1.0")
elementwise(math.log, "x", x="1.0 / x")
elementwise(math.log2, "x", x="1.0 / (x * math.log(2.0))")
elementwise(math.log10, "x", x="1.0 / (x * math.log(10.0))")
elementwise(math.log1p, "x", x="1.0 / (1.0 + x)")
elementwise(math.sqrt, "x", steep="x", x="0.5 / y")
elementwise(math.fabs, "x", x="_sd.sign(x)")
elementwise(math.pow, "a, b", steep="a", a="b * a ** (b - 1)", b="y * _sd.log_base(a)")
elementwise(math.atan2, "a, b", steep="a, b",
            a="b / (a * a + b * b)", b="-a / (a * a + b * b)")
elementwise(math.hypot, "a, b", steep="a, b", a="a / y", b="b / y")
elementwise(math.erf, "x", x="2.0 / math.sqrt(math.pi) * math.exp(-x * x)")
elementwise(math.erfc, "x", x="-2.0 / math.sqrt(math.pi) * math.exp(-x * x)")

nondifferentiable(
    builtins.range, builtins.len, builtins.int, builtins.bool, builtins.round, builtins.print,
    builtins.isinstance, builtins.type, builtins.enumerate, builtins.zip, builtins.str,
    operator.floordiv, operator.not_, operator.lt, operator.le, operator.gt, operator.ge,
    operator.eq, operator.ne, operator.is_, operator.is_not, operator.contains,
    math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
)
