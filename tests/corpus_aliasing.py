"""A corpus of NumPy's in-place semantics: views, aliases and writes through them.

Every function follows NumPy exactly (views share buffers; `+=` on an ndarray writes in place,
on a float it rebinds), so central finite differences of the plain function are the truth.
tests/test_aliasing.py checks ``sourcediff.grad`` against them on every case, in both modes,
optimized and not, and checks that the derivative leaves its arguments unchanged.

``REFUSED`` lists what stays refused (each with the line that carries a ``# refused`` marker).
"""

from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from corpus import Case
from inputs import Inputs

_rng = Inputs(20261202)


def _normal(*shape):
    return _rng.normal(*shape)


# ---- in-place operators through views of an argument -------------------------------------------
def reshape_view_scaled(x):
    v = x.reshape(2, 3)
    v *= 2.0
    return np.sum(x * x)


def transpose_view_scaled(x):
    v = x.T
    v *= 2.0
    return np.sum(x * np.sin(x))


def np_transpose_view_added(x, y):
    v = np.transpose(x)
    v += y
    return np.sum(x * x)


def swapaxes_view(x):
    v = x.swapaxes(0, 1)
    v -= 0.5 * v
    return np.sum(x ** 3)


def atleast_2d_view(x):
    v = np.atleast_2d(x)
    v *= x
    return np.sum(x)


def row_view_added(y):
    r = y[1]
    r += 1.0
    return np.sum(y * y)


def whole_slice_view(x, s):
    v = x[:]
    v *= s
    return np.sum(x * x)


def newaxis_view(x):
    v = x[:, None]
    v /= 2.0
    return np.sum(x * np.cos(x))


def ravel_view(x):
    v = x.ravel()
    v[1] = v[0] * v[2]
    return np.sum(x * x)


def view_of_view(x):
    v = x[1:]
    w = v.reshape(2, 2)
    w *= 3.0
    return np.sum(x * x) + np.sum(v)


# ---- rows of loops and unpacking ----------------------------------------------------------------
def rows_of_loop(X):
    s = 0.0
    for r in X:
        r *= 2.0
        s = s + np.sum(r)
    return s + np.sum(X * X)


def rows_of_zip(X, Y):
    for a, b in zip(X, Y):
        a += b
    return np.sum(X * Y)


def rows_of_enumerate(X):
    for i, r in enumerate(X):
        r *= float(i + 1)
    return np.sum(np.sin(X))


def unpacked_rows(X):
    a, b = X
    a -= b
    return np.sum(X * X)


def loop_over_list_of_arrays(w1, w2):
    ws = [w1, w2]
    for p in ws:
        p -= 0.5 * p
    return np.sum(ws[0] * ws[1]) + np.sum(w1)


def list_element_updated(w1, w2, s):
    params = [w1, w2]
    for i in range(2):
        params[i] -= s * params[i]
    return np.sum(w1 * w2)


# ---- names bound to one buffer ------------------------------------------------------------------
def conditional_alias(y, c):
    v = y if c > 0 else 2.0 * y
    v += v
    return np.sum(y * v)


def plain_alias_written(x):
    y = x
    y[0] = 1.0
    return np.sum(y * x)


def plain_alias_augmented(x, y):
    z = x
    z += y
    return np.sum(z * x)


def copy_then_alias(x):
    y = x * 1.0
    w = y
    y += 1.0
    return np.sum(w * y)


def alias_rebound_first(x):
    w = x
    v = x * 3.0
    v += 1.0
    return np.sum(w * v)


def scalar_alias_rebinds(x):
    a = np.sum(x)
    b = a
    a += 1.0
    return a * b


def dict_element_alias(d):
    y = d["a"]
    y += d["b"]
    return np.sum(d["a"] * d["b"])


def list_alias_appended(x):
    a = [x, 2.0 * x]
    b = a
    b.append(x * x)
    return sum(a) + sum(b)


# ---- helpers that write into their arguments ----------------------------------------------------
def _normalize(a):
    a /= np.sum(a)
    return a


def helper_normalizes_in_place(x):
    z = x * 1.0
    _normalize(z)
    return np.sum(z * z)


def helper_result_and_argument(x):
    z = x * 1.0
    w = _normalize(z)
    return np.sum(z * w)


def _first_from_second(a):
    a[0] = 3.0 * a[1]
    return a


# fuzzer 101:755: a helper's parameter with a generated code's name (`_push`, renamed inside)
# was not seen to be written into
def _grow_reserved(_push):
    _push += np.transpose(_push.T) * 0.5
    return 2.0


def helper_with_a_reserved_parameter_name(x, y):
    z = x * 1.0
    _grow_reserved(z)
    return np.sum(z * y)


# fuzzer 301:678 and 301:888: a helper's result (its tangent the argument's own, in forward
# mode) written in place through a view of it
def _shift(v):
    return v + 0.7


def writes_a_helper_result_through_a_view(x):
    n5 = _shift(x.reshape(1, 6))
    n3 = n5.T
    n5 *= 0.5
    return np.sum(np.sin(n3)) + np.sum(n5 * n5)


def writes_a_helper_result_seen_by_a_view(x):
    t4 = _shift(x ** 2 / (1.0 + x ** 2))
    v6 = t4[::-1]
    t4 *= 2.0
    return np.sum(np.sin(v6)) - 0.6 * np.sum(t4 * x)


# fuzzer 402:617: a helper's result (its tangent the argument's own) kept while the argument
# is written in place
def writes_the_argument_of_a_kept_helper_result(x):
    u = _shift(x)
    x *= -1.5
    return 0.9 * np.sum(u * u) + np.sum(x)


def helper_writes_element(x):
    y = x * 1.0
    w = _first_from_second(y)
    return np.sum(w * y) + np.sum(y)


def _scale_rows(M, s):
    for r in M:
        r *= s
    return 0.0


def helper_writes_rows(X, s):
    Y = X.copy()
    _scale_rows(Y, s)
    return np.sum(Y * X)


# ---- views read after a later write -------------------------------------------------------------
def transpose_read_after_write(z0, x):
    z = z0 * 1.0
    p = z.T
    z[1] = x * x
    return np.sum(p * p)


def slice_read_after_write(x):
    y = x.copy()
    s = y[1:3]
    y[1] = 5.0 * x[0]
    return np.sum(s * y[:2])


def slice_read_in_loop(x):
    y = x.copy()
    s = y[0:2]
    t = 0.0
    for i in range(2):
        t = t + np.sum(s * x[:2])
        y[i] = 5.0 * x[2]
    return t


def self_assignment(x):
    z = x * 1.0
    z[:] = z
    return np.sum(z * z)


def shifted_self_assignment(x):
    z = x * 2.0
    z[1:] = z[:-1]
    return np.sum(z * x)


# ---- tangents that must not share a buffer (forward mode) ---------------------------------------
def tangent_not_shared(x, a):
    z = x * 1.0
    w = z + 1.0
    z[0] = a
    return np.sum(w * w) + np.sum(z)


def slice_scaled_in_place(x, y):
    z = x * 1.0
    z[:2] *= y
    return np.sum(z * z)


def strided_slice_scaled(x, y):
    z = x * 1.0
    z[::2] *= y
    return np.sum(z * z)


def whole_slice_scaled(x, y):
    z = x * 1.0
    z[:] *= y
    return np.sum(z * z)


# ---- repeated indices ---------------------------------------------------------------------------
def repeated_fancy_assign(x):
    y = np.zeros(3)
    y[[0, 0]] = x[:2]
    return np.sum(y * y * np.arange(1.0, 4.0))


def repeated_fancy_add(x):
    y = np.ones(3)
    y[[0, 0]] += x[:2]
    return np.sum(y * y * np.arange(1.0, 4.0))


# ---- containers holding a buffer ----------------------------------------------------------------
def tuple_alias(x):
    y, z = x, 2.0
    y[0] = z * x[1]
    return np.sum(y * x)


def array_in_dict(x):
    y = x.copy()
    d = {"w": y}
    y[0] = 5.0 * x[1]
    return np.sum(d["w"] * x)


def appended_then_written(x):
    rows = []
    y = x.copy()
    rows.append(y)
    y[0] = 3.0 * x[1]
    return np.sum(rows[0] * x)


def trajectory_of_one_buffer(x):
    state = x.copy()
    traj = []
    for t in range(3):
        state[t] = state[t] * 2.0 + x[(t + 1) % 3]
        traj.append(state)
    return np.sum(np.array(traj) ** 2)


# ---- calls that write in place ------------------------------------------------------------------
def out_argument(x, y):
    z = np.zeros(3)
    np.multiply(x, y, out=z)
    return np.sum(z * x)


def fill_and_copyto(x):
    z = x * 1.0
    w = z[1:]
    w.fill(2.0)
    t = np.empty(3)
    np.copyto(t, z * x)
    return np.sum(t * t)


def argument_written(x):
    x[0] = 2.0 * x[1]
    return np.sum(x)


def argument_augmented_through_view(x):
    v = x[::2]
    v *= v
    return np.sum(x)



# fuzzer 501:1143: a field of a named tuple argument, written in place through the name it was
# read into, then read again through the tuple (the field read was not seen to share a buffer)
Pair = namedtuple("Pair", ["a", "b"])


@dataclass
class Params:
    a: float
    b: np.ndarray


class Holder:
    def __init__(self, a, b):
        self.a, self.b = a, b


def field_written_then_read(p):
    b = p.b
    b *= 1.0 + 0.3 * np.tanh(b)
    return np.sum(p.b) * p.a


def field_written_twice_through_a_list(p):
    b = p.b
    for w in [b, b]:
        w *= 1.0 + 0.3 * np.tanh(w)
    return np.sum(np.sin(p.b)) + p.a * np.sum(b)



# fuzzer 504:498: a helper that may write into its parameter (`y = s; y += 0.5`), called
# plainly (in a test) with a number: the adjoint sweep tried to put a number back in place
def _bump(a, scale=1.0):
    y = scale
    y += 0.5


def plain_call_may_write_a_number(x):
    b = 0.5 * np.ones((2, 3))
    t = np.mean(b)
    if _bump(b, scale=t):
        pass
    return np.sum(b * x) * t


# fuzzer 709:1732: a plain call (no derivative flows through it) writes into an argument a
# view of which the adjoint reads; forward mode over the restore (second derivatives) missed it,
# as the optimizer dropped `_sd.put_back` as if it had no effect
def _damp(a):
    a *= 1.0 + 0.3 * np.tanh(a)


def helper_writes_an_inactive_argument_after_a_view(x, a):
    v = a[1:]
    u = 0.5 * np.tanh(v @ (x * np.ones((2, 3))))
    _damp(a)
    return 0.9 * np.sum(u)


# a plain call writes in place into an array a list argument holds: the restore must put the
# array's elements back, not only the list's slots (was a wrong first derivative)
def _double_first(items):
    items[0] *= 2.0


def helper_writes_an_array_inside_a_list(x, items):
    p = items[0]
    u = np.sum(np.sin(p * x))
    _double_first(items)
    return u + np.sum(items[0] * x)


def _scale_entry(d):
    d["w"] *= 1.5
    d["k"] = 2.0


def helper_writes_an_array_inside_a_dict(x, d):
    w = d["w"]
    u = np.sum(np.cos(w * x)) * d["k"]
    _scale_entry(d)
    return u + np.sum(d["w"] * x) * d["k"]


# a helper writes in place into an array a list argument holds, and the caller reads that array
# again through another name; a helper that only puts a new value in a slot is exact
def helper_doubles_a_held_array_read_later(x):
    items = [x * 1.0, x * 2.0]
    p = items[0]
    u = np.sum(np.sin(p * x))
    _double_first(items)
    return u + np.sum(items[0] * items[1])


def _set_first(items, v):
    items[0] = v


def helper_replaces_a_slot_whose_old_value_is_read(x):
    items = [x * 1.0, x * 2.0]
    p = items[0]
    u = np.sum(np.sin(p * x))
    _set_first(items, 3.0 * x)
    return u + np.sum(items[0] * p)


# a helper writes in place into a parameter's buffer that a fresh list or dict holds: the
# top-level function must work on a copy of the parameter (forward mode wrote into the
# caller's array, and each tangent pass of grad saw the previous one's writes: fuzzer 923:558)
def _add_sin_of_first_to_last(ws):
    ws[-1] += np.sin(ws[0])


def helper_writes_a_parameter_held_by_a_fresh_list(x):
    ws = [x, x]
    _add_sin_of_first_to_last(ws)
    return np.sum(ws[0] * ws[1])


def helper_writes_a_parameter_held_by_a_fresh_dict(x, y):
    d = {"w": x, "k": 2.0}
    _scale_entry(d)
    return np.sum(d["w"] * y) * d["k"]


def helper_writes_a_parameter_held_by_a_nested_list(x):
    outer = [[x * 1.0, x]]
    _add_sin_of_first_to_last(outer[0])
    return np.sum(np.tanh(outer[0][1]) * outer[0][0])


# the same, with the parameter read again by its own name: refused (was silently wrong in both
# modes: the element of unknown kind was taken for an array, whose items nothing writes)
def helper_writes_a_nested_list_item_read_later(x):
    outer = [[x * 1.0, x]]
    _add_sin_of_first_to_last(outer[0])  # refused
    return np.sum(np.tanh(outer[0][1]) * x)


# NumPy calls that write into an argument: np.add.at / np.subtract.at accumulate over repeated
# indices (through every view), and a ufunc's output given positionally is `out=` (each was a
# gradient that ignored the write)
def scatter_add_through_a_view(x):
    y = x * 1.0
    v = y[1:]
    np.add.at(y, [0, 0, 2], np.sin(x[:3]))
    return np.sum(v * x[1:]) + np.sum(y * y)


def scatter_subtract_2d(x):
    y = np.ones((2, 2)) * x[0]
    np.subtract.at(y, (np.array([0, 0, 1]), np.array([1, 1, 0])), x[1:] ** 2)
    return np.sum(y * y)


def ufunc_output_given_positionally(x):
    y = x * 1.0
    v = y[::-1]
    np.sin(y, y)
    return np.sum(v * x)


# fuzzer 506:1002: a 0-d view (`r[..., 0]` of a row) written in place; its adjoint is a number
def zero_d_view_augmented(x):
    b = x * np.ones((2, 3))
    r0, r1 = b
    y = r0[..., 0]
    y += 0.5 * x
    return -0.6 * y + np.sum(b)


# fuzzer 506:834: an early return leaves the zero adjoint, which a NumPy scalar turns into
# np.float64(0.0), before an element write of the array it stands for
def early_return_after_a_slice_write(x, c):
    z = np.zeros(2) + x
    z[:2] *= np.sum(np.ones((3, 3)), axis=0)[:2]
    z *= 1.0 + 0.3 * np.tanh(c)
    t = z
    if c > 0.0:
        return 0.5 * np.sum(x * x)
    return 0.9 * np.sum(t)


# fuzzer 602:806: the builtin `max(a, b)` (and `min`) returns one of its arguments, the same
# object: a 0-d view of `x` here, which a later in-place write through another view changes
def builtin_max_returns_a_view(x, c):
    y = x * 1.0
    m = max(y[..., 1], c)
    n = min(c, y[..., 2])
    w = y[:]
    w *= 0.5
    return 0.5 * m + 0.7 * n + np.sum(w * x)


CASES = [
    Case(builtin_max_returns_a_view, (np.array([0.3, 1.2, -0.4]), 0.2), wrt=(0, 1)),
    Case(plain_call_may_write_a_number, (_normal(2, 3),)),
    Case(scatter_add_through_a_view, (_normal(4),)),
    Case(scatter_subtract_2d, (_normal(4),)),
    Case(ufunc_output_given_positionally, (_normal(4),)),
    Case(helper_doubles_a_held_array_read_later, (np.array([0.3, -0.7]),)),
    Case(helper_replaces_a_slot_whose_old_value_is_read, (np.array([0.3, -0.7]),)),
    Case(helper_writes_an_inactive_argument_after_a_view,
         (np.array([0.7, -0.2, 0.4]), np.array([-0.5, 0.8, -1.4]))),
    Case(helper_writes_a_parameter_held_by_a_fresh_list, (_normal(3),)),
    Case(helper_writes_a_parameter_held_by_a_fresh_dict, (_normal(3), _normal(3)), wrt=(0, 1)),
    Case(helper_writes_a_parameter_held_by_a_nested_list, (_normal(3),)),
    Case(helper_writes_an_array_inside_a_list,
         (np.array([0.7, -0.3, 1.1]), [np.array([0.5, -1.0, 2.0]), np.array([1.0])])),
    Case(helper_writes_an_array_inside_a_dict,
         (np.array([0.7, -0.3]), {"w": np.array([0.4, -1.2]), "k": 0.5})),
    Case(zero_d_view_augmented, (0.7,)),
    Case(early_return_after_a_slice_write, (_normal(2), 0.7), wrt=(0, 1),
         id="early_return_after_a_slice_write_taken"),
    Case(early_return_after_a_slice_write, (_normal(2), -0.7), wrt=(0, 1),
         id="early_return_after_a_slice_write_not_taken"),
    Case(field_written_then_read, (Pair(1.5, _normal(3)),), id="field_written_then_read_tuple"),
    Case(field_written_then_read, (Params(1.5, _normal(3)),),
         id="field_written_then_read_dataclass"),
    Case(field_written_then_read, (Holder(1.5, _normal(3)),),
         id="field_written_then_read_object"),
    Case(field_written_twice_through_a_list, (Pair(0.5, _normal(3)),),
         id="field_written_twice_tuple"),
    Case(field_written_twice_through_a_list, (Params(0.5, _normal(2, 2)),),
         id="field_written_twice_dataclass"),
    Case(reshape_view_scaled, (_normal(6),)),
    Case(transpose_view_scaled, (_normal(2, 3),)),
    Case(np_transpose_view_added, (_normal(2, 3), _normal(3, 2)), wrt=(0, 1)),
    Case(swapaxes_view, (_normal(2, 3),)),
    Case(atleast_2d_view, (_normal(3),)),
    Case(row_view_added, (_normal(2, 3),)),
    Case(whole_slice_view, (_normal(4), 0.7), wrt=(0, 1)),
    Case(newaxis_view, (_normal(3),)),
    Case(ravel_view, (_normal(2, 2),)),
    Case(view_of_view, (_normal(5),)),
    Case(rows_of_loop, (_normal(2, 3),)),
    Case(rows_of_zip, (_normal(2, 3), _normal(2, 3)), wrt=(0, 1)),
    Case(rows_of_enumerate, (_normal(3, 2),)),
    Case(unpacked_rows, (_normal(2, 3),)),
    Case(loop_over_list_of_arrays, (_normal(3), _normal(3)), wrt=(0, 1)),
    Case(list_element_updated, (_normal(3), _normal(3), 0.3), wrt=(0, 1, 2)),
    Case(conditional_alias, (_normal(3), 1.0), id="conditional_alias_taken"),
    Case(conditional_alias, (_normal(3), -1.0), id="conditional_alias_fresh"),
    Case(plain_alias_written, (_normal(3),)),
    Case(plain_alias_augmented, (_normal(3), _normal(3)), wrt=(0, 1)),
    Case(copy_then_alias, (_normal(3),)),
    Case(alias_rebound_first, (_normal(3),)),
    Case(scalar_alias_rebinds, (_normal(3),)),
    Case(dict_element_alias, ({"a": _normal(3), "b": _normal(3)},)),
    Case(list_alias_appended, (0.5,)),
    Case(helper_normalizes_in_place, (_normal(3) ** 2 + 1.0,)),
    Case(helper_result_and_argument, (_normal(3) ** 2 + 1.0,)),
    Case(helper_writes_element, (_normal(3),)),
    Case(writes_a_helper_result_through_a_view, (_normal(2, 3),)),
    Case(writes_a_helper_result_seen_by_a_view, (_normal(2, 3),)),
    Case(writes_the_argument_of_a_kept_helper_result, (_normal(3, 3),)),
    Case(helper_with_a_reserved_parameter_name, (_normal(2, 3), _normal(2, 3)), wrt=1),
    Case(helper_with_a_reserved_parameter_name, (_normal(2, 3), _normal(2, 3)), wrt=0,
         id="helper_with_a_reserved_parameter_name_wrt_x"),
    Case(helper_writes_rows, (_normal(2, 3), 1.3), wrt=(0, 1)),
    Case(transpose_read_after_write, (_normal(2, 3), 0.7), wrt=(0, 1)),
    Case(slice_read_after_write, (_normal(4),)),
    Case(slice_read_in_loop, (_normal(3),)),
    Case(self_assignment, (_normal(3),)),
    Case(shifted_self_assignment, (_normal(4),)),
    Case(tangent_not_shared, (_normal(3), 0.4), wrt=(0, 1)),
    Case(slice_scaled_in_place, (_normal(3), 0.4), wrt=(0, 1)),
    Case(strided_slice_scaled, (_normal(3), 0.4), wrt=(0, 1)),
    Case(whole_slice_scaled, (_normal(3), 0.4), wrt=(0, 1)),
    Case(repeated_fancy_assign, (_normal(3),)),
    Case(repeated_fancy_add, (_normal(3),)),
    Case(tuple_alias, (_normal(3),)),
    Case(array_in_dict, (_normal(3),)),
    Case(appended_then_written, (_normal(3),)),
    Case(trajectory_of_one_buffer, (_normal(3),)),
    Case(out_argument, (_normal(3), _normal(3)), wrt=(0, 1)),
    Case(fill_and_copyto, (_normal(3),)),
    Case(argument_written, (_normal(3),)),
    Case(argument_augmented_through_view, (_normal(5),)),
]


# ---- still refused ------------------------------------------------------------------------------
GLOBAL_BUFFER = np.ones(3)


def writes_into_a_module_array(x):
    v = GLOBAL_BUFFER
    v[0] = x  # refused
    return np.sum(GLOBAL_BUFFER) * x


def pops_a_list(x):
    stack = [x, 2.0 * x]
    last = stack.pop()  # refused
    return last + stack[0]


# an in-place operator method called by name writes through every view (was a wrong gradient)
def calls_an_in_place_operator_method(x):
    y = x * 2.0
    v = y.reshape(-1)
    y.__imul__(3.0)  # refused
    return np.sum(v * x)


def fills_the_diagonal(x):
    A = np.outer(x, x)
    np.fill_diagonal(A, 0.0)  # refused
    return np.sum(A)


def multiplies_at_indices(x):
    y = x * 1.0
    np.multiply.at(y, [0, 0], 2.0)  # refused
    return np.sum(y)


def shuffles_with_a_generator(x):
    y = x * 1.0
    np.random.default_rng(0).shuffle(y)  # refused
    return np.sum(y * np.arange(3.0))


def copies_where(x):
    y = x * 1.0
    np.copyto(y, 2.0 * x, where=x > 0)  # refused
    return np.sum(y * x)


def sorts_in_place(x):
    y = x * 1.0
    y.sort()  # refused
    return np.sum(y * np.arange(3.0))


def helper_writes_a_held_array_seen_by_another_name(x):
    items = [x * 1.0, x * 2.0]
    p = items[0]
    _double_first(items)  # refused
    return np.sum(p * x)


# fuzzer 813:372: the same, where the argument `a` also shares the list's alias class (through
# the call's result): its alias update follows the list, not the array in it (was wrong)
def _grow_first(ws):
    ws[0] *= 1.0 + 0.3 * np.tanh(ws[0])
    return 1.0


def helper_writes_a_held_argument_in_the_lists_class(a, b):
    ws = [a, b]
    t = _grow_first(ws)  # refused
    s = a
    s = t
    return 0.5 * np.sum(a) + 0.0 * np.sum(s)


REFUSED = [
    (helper_writes_a_nested_list_item_read_later, (_normal(3),)),
    (helper_writes_a_held_array_seen_by_another_name, (0.5,)),
    (helper_writes_a_held_argument_in_the_lists_class,
     (np.array([[0.0, 0.0, -1.0], [1.0, -1.0, 1.0]]), np.array([1.0, -1.0, 0.0]))),
    (writes_into_a_module_array, (0.5,)),
    (pops_a_list, (0.5,)),
    (sorts_in_place, (_normal(3),)),
    (calls_an_in_place_operator_method, (_normal(3),)),
    (fills_the_diagonal, (_normal(3),)),
    (multiplies_at_indices, (_normal(3),)),
    (shuffles_with_a_generator, (_normal(3),)),
    (copies_where, (_normal(3),)),
]


# fuzzer 201:298: the value returned is a view of an argument's array written in place; the
# adjoint sweep puts the argument back, and value_and_grad must still give the final value
def returns_a_view_of_a_written_argument(p):
    b = p["b"]
    b *= -1.5
    return b[..., 0] * 1.0 + b[..., 0] ** 2
