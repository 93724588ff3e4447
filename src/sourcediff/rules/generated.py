"""Rules for the runtime helpers that generated code calls.

Higher-order derivatives (hessian, hvp, jvp of grad, grad of grad) run forward mode over
generated reverse-mode code, so every helper that code calls needs a tangent rule. Most helpers
are linear in the derivative they carry; their rules say so.
"""

from .. import runtime as rt
from .registry import nondifferentiable, rule

rule(rt.unbroadcast, "g, x",
     adjoint={"g": "_sd.broadcast_like(d[y], g)"},
     tangent={"g": "_sd.unbroadcast(d[g], x)"},
     static="x")
rule(rt.sum_back, "g, x, axis=None, keepdims=False",
     adjoint={"g": "_sd.unbroadcast(np.sum(d[y], axis=axis, keepdims=keepdims), g)"},
     tangent={"g": "_sd.sum_back(d[g], x, axis, keepdims)"},
     static="x, axis, keepdims")
rule(rt.gradient_like, "g, x",
     adjoint={"g": "_sd.unbroadcast(d[y], g)"},
     tangent={"g": "_sd.gradient_like(d[g], x)"},
     static="x")
rule(rt.unsubscript, "g, x, index",
     adjoint={"g": "_sd.getitem(d[y], index)"},
     tangent={"g": "_sd.unsubscript(d[g], x, index)"},
     static="x, index")
rule(rt.add_at, "dx, g, x, index",
     adjoint={"dx": "d[y]", "g": "_sd.getitem(d[y], index)"},
     tangent={"dx": "d[dx]", "g": "_sd.unsubscript(d[g], x, index)"},
     static="x, index")
rule(rt.getitem, "g, index",
     adjoint={"g": "_sd.unsubscript(d[y], g, index)"},
     tangent={"g": "_sd.getitem(d[g], index)"},
     static="index")
rule(rt.add, "a, b",
     adjoint={"a": "d[y]", "b": "d[y]"},
     tangent={None: "_sd.add(d[a], d[b])"})
rule(rt.unpack_back, "parts, x",
     adjoint={"parts": "_sd.transpose_linear(_sd.unpack_back, (parts, x), 0, d[y])"},
     tangent={"parts": "_sd.unpack_back(d[parts], x)"},
     static="x")
rule(rt.transpose_normalized_back, "g, axes=None",
     adjoint={"g": "_sd.transpose_linear(_sd.transpose_normalized_back, (g, axes), 0, d[y])"},
     tangent={"g": "_sd.transpose_normalized_back(d[g], axes)"},
     static="axes")
# `g * p` with 0 where g is 0; its own derivatives keep that convention: a zero factor
# stays zero through the other factor's infinite tangent
rule(rt.times, "g, p", elementwise=True,
     adjoint={"g": "_sd.times(d[y], p)", "p": "_sd.times(g, d[y])"},
     tangent={"g": "_sd.times(d[g], p)", "p": "_sd.times(g, d[p])"})
rule(rt.over, "g, q", elementwise=True,
     adjoint={"g": "_sd.over(d[y], q)", "q": "-_sd.over(_sd.times(d[y], y), q)"},
     tangent={"g": "_sd.over(d[g], q)", "q": "-_sd.over(_sd.times(d[q], y), q)"})
rule(rt.log_base, "a",
     adjoint={"a": "d[y] * _sd.log_base_derivative(a)"},
     tangent={"a": "d[a] * _sd.log_base_derivative(a)"})
# bilinear in the carried derivative g and the other factor
rule(rt.matmul_back_a, "g, a, b",
     adjoint={"g": "_sd.transpose_linear(_sd.matmul_back_a, (g, a, b), 0, d[y])",
              "b": "_sd.transpose_linear(_sd.matmul_back_a, (g, a, b), 2, d[y])"},
     tangent={"g": "_sd.matmul_back_a(d[g], a, b)", "b": "_sd.matmul_back_a(g, a, d[b])"},
     static="a")
rule(rt.matmul_back_b, "g, a, b",
     adjoint={"g": "_sd.transpose_linear(_sd.matmul_back_b, (g, a, b), 0, d[y])",
              "a": "_sd.transpose_linear(_sd.matmul_back_b, (g, a, b), 1, d[y])"},
     tangent={"g": "_sd.matmul_back_b(d[g], a, b)", "a": "_sd.matmul_back_b(g, d[a], b)"},
     static="b")
rule(rt.dot_back_a, "g, a, b",
     adjoint={"g": "_sd.transpose_linear(_sd.dot_back_a, (g, a, b), 0, d[y])",
              "b": "_sd.transpose_linear(_sd.dot_back_a, (g, a, b), 2, d[y])"},
     tangent={"g": "_sd.dot_back_a(d[g], a, b)", "b": "_sd.dot_back_a(g, a, d[b])"},
     static="a")
rule(rt.dot_back_b, "g, a, b",
     adjoint={"g": "_sd.transpose_linear(_sd.dot_back_b, (g, a, b), 0, d[y])",
              "a": "_sd.transpose_linear(_sd.dot_back_b, (g, a, b), 1, d[y])"},
     tangent={"g": "_sd.dot_back_b(d[g], a, b)", "a": "_sd.dot_back_b(g, d[a], b)"},
     static="b")

rule(rt.snapshot, "x, index",
     adjoint={"x": "_sd.unsubscript(d[y], x, index)"},
     tangent={"x": "_sd.snapshot(d[x], index)"},
     static="index")
rule(rt.zero_at, "g, index",
     adjoint={"g": "_sd.zero_at(d[y], index)"},
     tangent={"g": "_sd.zero_at(d[g], index)"},
     static="index")
for _pick in ("max", "min"):   # the derivatives of max(seq)/min(seq) are linear in g / t
    rule(getattr(rt, f"{_pick}_of_back"), "g, seq",
         adjoint={"g": f"_sd.{_pick}_of_tangent(d[y], seq)"},
         tangent={"g": f"_sd.{_pick}_of_back(d[g], seq)"}, static="seq")
    rule(getattr(rt, f"{_pick}_of_tangent"), "t, seq",
         adjoint={"t": f"_sd.{_pick}_of_back(d[y], seq)"},
         tangent={"t": f"_sd.{_pick}_of_tangent(d[t], seq)"}, static="seq")
rule(rt.unbroadcast_to, "g, shape",
     adjoint={"g": "_sd.broadcast_like(d[y], g)"},
     tangent={"g": "_sd.unbroadcast_to(d[g], shape)"},
     static="shape")
rule(rt.broadcast_like, "g, x",
     adjoint={"g": "_sd.unbroadcast(d[y], g)"},
     tangent={"g": "_sd.broadcast_like(d[g], x)"},
     static="x")
rule(rt.copy_value, "x",
     adjoint={"x": "d[y]"},
     tangent={"x": "_sd.owned(d[x], x)"})
rule(rt.owned, "t, x",
     adjoint={"t": "d[y]"},
     tangent={"t": "_sd.owned(d[t], x)"},
     static="x")

rule(rt.sequence, "x",
     adjoint={"x": "_sd.sequence_back(d[y], x)"},
     tangent={"x": "_sd.sequence_tangent(d[x], x)"})

rule(rt.sequence_back, "g, x",
     adjoint={"g": "_sd.sequence_tangent(d[y], x)"},
     tangent={"g": "_sd.sequence_back(d[g], x)"},
     static="x")
rule(rt.sequence_tangent, "t, x",
     adjoint={"t": "_sd.sequence_back(d[y], x)"},
     tangent={"t": "_sd.sequence_tangent(d[t], x)"},
     static="x")

nondifferentiable(rt.shape, rt.keys, rt.measured_tape, rt.count, rt.sign, rt.zero_like,
                  rt.check_scalar,
                  rt.stop_gradient)

# ---- in-place semantics: the model of a write through a shared buffer (passes/aliasing.py)
rule(rt.alias_update, "a, n",
     adjoint={"a": "_sd.alias_update_back_a(d[y], a, n)",
              "n": "_sd.alias_update_back_n(d[y], a, n)"},
     tangent={None: "_sd.alias_update_tangent(d[a], d[n], a, n)"})
rule(rt.alias_update_back_a, "g, a, n",
     adjoint={"g": "_sd.alias_update_back_a(d[y], a, n)"},
     tangent={"g": "_sd.alias_update_back_a(d[g], a, n)"},
     static="a, n")
rule(rt.alias_update_back_n, "g, a, n",
     adjoint={"g": "_sd.transpose_linear(_sd.alias_update_back_n, (g, a, n), 0, d[y])"},
     tangent={"g": "_sd.alias_update_back_n(d[g], a, n)"},
     static="a, n")
rule(rt.alias_update_tangent, "ta, tn, a, n",
     adjoint={"ta": "_sd.alias_update_back_a(d[y], a, n)",
              "tn": "_sd.alias_update_back_n(d[y], a, n)"},
     tangent={None: "_sd.alias_update_tangent(d[ta], d[tn], a, n)"},
     static="a, n")
rule(rt.assigned, "g, index",
     adjoint={"g": "_sd.transpose_linear(_sd.assigned, (g, index), 0, d[y])"},
     tangent={"g": "_sd.assigned(d[g], index)"},
     static="index")
rule(rt.augmented, "value, container=None",
     adjoint={"value": "d[y]"},
     tangent={"value": "d[value]"},
     static="container")
# np.add.at / np.subtract.at, rewritten by the mutations pass
rule(rt.scatter_add, "a, index, v",
     adjoint={"a": "d[y]", "v": "_sd.scatter_add_back_v(d[y], index, v)"},
     tangent={None: "_sd.scatter_add_tangent(d[a], d[v], a, index)"},
     static="index")
rule(rt.scatter_add_back_v, "g, index, v",
     adjoint={"g": "_sd.transpose_linear(_sd.scatter_add_back_v, (g, index, v), 0, d[y])"},
     tangent={"g": "_sd.scatter_add_back_v(d[g], index, v)"},
     static="index, v")
rule(rt.scatter_add_tangent, "ta, tv, a, index",
     adjoint={"ta": "d[y]", "tv": "_sd.scatter_add_back_v(d[y], index, tv)"},
     tangent={None: "_sd.scatter_add_tangent(d[ta], d[tv], a, index)"},
     static="a, index")
nondifferentiable(rt.is_mutable, rt.whole_index)
# save and restore only what a plain call (no derivative flows through it) wrote into
nondifferentiable(rt.contents, rt.put_back)

# ---- second derivatives through the list and reduction helpers of the rule table
rule(rt.sum_back_list, "g, seq",
     adjoint={},
     tangent={"g": "_sd.sum_back_list(d[g], seq)"},
     static="seq")
rule(rt.sum_tangent_list, "seq_dot, start_dot",
     adjoint={},
     tangent={None: "_sd.sum_tangent_list(d[seq_dot], d[start_dot])"})
rule(rt.append_back_seq, "g, seq",
     adjoint={},
     tangent={"g": "_sd.append_back_seq(d[g], seq)"},
     static="seq")
rule(rt.append_back_item, "g",
     adjoint={},
     tangent={"g": "_sd.append_back_item(d[g])"})
rule(rt.append_tangent, "seq, seq_dot, item_dot",
     adjoint={},
     tangent={None: "_sd.append_tangent(seq, d[seq_dot], d[item_dot])"},
     static="seq")
rule(rt.prod_others, "x, axis=None",
     adjoint={},
     tangent={"x": "_sd.prod_others_tangent(d[x], x, axis)"},
     static="axis")
rule(rt.average_back_a, "g, a, y, axis=None, weights=None, returned=False, keepdims=False",
     adjoint={},
     tangent={"g": "_sd.average_back_a(d[g], a, y, axis, weights, returned, keepdims)"},
     static="a, y, axis, returned, keepdims")

# ---- builtins that build sequences (passes/iterators.py)
rule(rt.as_tuple, "seq",
     adjoint={"seq": "_sd.as_tuple_back(d[y], seq)"},
     tangent={"seq": "_sd.as_tuple(d[seq])"})
rule(rt.as_tuple_back, "g, seq",
     adjoint={"g": "_sd.as_tuple(d[y])"},
     tangent={"g": "_sd.as_tuple_back(d[g], seq)"},
     static="seq")
rule(rt.unzip, "pairs",
     adjoint={"pairs": "_sd.unzip_back(d[y], pairs)"},
     tangent={"pairs": "_sd.unzip_tangent(d[pairs], pairs)"})
rule(rt.unzip_back, "g, pairs",
     adjoint={},
     tangent={"g": "_sd.unzip_back(d[g], pairs)"},
     static="pairs")
rule(rt.unzip_tangent, "t, pairs",
     adjoint={},
     tangent={"t": "_sd.unzip_tangent(d[t], pairs)"},
     static="pairs")
rule(rt.field_of, "g, name",
     adjoint={},
     tangent={"g": "_sd.field_of(d[g], name)"},
     static="name")
rule(rt.attribute_back, "g, x, name",
     adjoint={},
     tangent={"g": "_sd.attribute_back(d[g], x, name)"},
     static="x, name")
rule(rt.attribute_tangent, "t, x, name",
     adjoint={},
     tangent={"t": "_sd.attribute_tangent(d[t], x, name)"},
     static="x, name")
rule(rt.record_tangent, "cls, fields",
     adjoint={},
     tangent={"fields": "_sd.record_tangent(cls, d[fields])"},
     static="cls")
