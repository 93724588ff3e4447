"""`_sd.contents` and `_sd.put_back`: what the adjoint sweep uses to undo a plain call's writes
into a container argument. After any in-place changes, put_back(x, contents(x)) must give back
the same objects in the same slots holding the same values."""

from dataclasses import dataclass

import numpy as np
import pytest

from sourcediff import runtime as rt

pytestmark = pytest.mark.quick


@dataclass
class Rec:
    w: np.ndarray
    k: float


@dataclass(frozen=True)
class Frozen:
    w: np.ndarray
    k: float


def test_a_list_gets_its_arrays_and_slots_back():
    a, b = np.array([1.0, 2.0]), np.array([3.0])
    items = [a, b, a]            # the same array in two slots
    saved = rt.contents(items)
    items[0] *= 2.0              # in place: slots 0 and 2 see it
    items[1] = np.array([9.0])   # a new object in a slot
    items.append(5.0)
    rt.put_back(items, saved)
    assert len(items) == 3 and items[0] is a and items[1] is b and items[2] is a
    assert a.tolist() == [1.0, 2.0] and b.tolist() == [3.0]


def test_nested_containers_and_records():
    w = np.array([0.5, -1.0])
    inner = [w, 2.0]
    d = {"inner": inner, "rec": Rec(np.array([4.0]), 1.5), "t": (np.array([7.0]),)}
    saved = rt.contents(d)
    inner[0] += 1.0
    inner[1] = -3.0
    d["rec"].w *= 3.0
    d["rec"].k = 0.0
    d["t"][0][0] = -7.0
    d["new"] = 1.0
    rt.put_back(d, saved)
    assert set(d) == {"inner", "rec", "t"} and d["inner"] is inner and inner[0] is w
    assert w.tolist() == [0.5, -1.0] and inner[1] == 2.0
    assert d["rec"].w.tolist() == [4.0] and d["rec"].k == 1.5 and d["t"][0].tolist() == [7.0]


def test_a_frozen_record_and_a_cycle():
    f = Frozen(np.array([1.0]), 2.0)
    saved = rt.contents(f)
    f.w[0] = 5.0
    object.__setattr__(f, "k", 0.0)
    rt.put_back(f, saved)
    assert f.w.tolist() == [1.0] and f.k == 2.0
    loop = [np.array([1.0])]
    loop.append(loop)            # a list that holds itself
    saved = rt.contents(loop)
    loop[0][0] = 3.0
    rt.put_back(loop, saved)
    assert loop[0].tolist() == [1.0] and loop[1] is loop


def test_numbers_and_arrays():
    assert rt.contents(1.5) is None
    rt.put_back(1.5, None)       # nothing to do
    x = np.arange(3.0)
    saved = rt.contents(x)
    x *= -1.0
    rt.put_back(x, saved)
    assert x.tolist() == [0.0, 1.0, 2.0]
