"""The generator's types: what it knows about every variable, so programs never fail.

``Ty`` is immutable.  ``float`` is any real scalar (Python float or np.float64); ``arr`` a
float64 ndarray of a known shape; ``int`` a loop counter with values in ``[0, bound)``;
``count`` an int parameter whose value is ``length`` (a trip count);
``list`` a homogeneous list whose length is at least ``length``; ``tuple``, ``dict`` and ``named``
(a ``Pair`` named tuple) fixed structures of other types.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

# The named tuple type of ``named`` parameters (the generated program never names the class:
# it reads ``p.a``, ``p[1]`` or unpacks ``a, b = p``).
Pair = namedtuple("Pair", ["a", "b"])


@dataclass(frozen=True)
class Ty:
    kind: str
    shape: tuple = ()
    elem: Ty | None = None
    length: int = 0
    items: tuple = ()

    def __str__(self):
        if self.kind == "arr":
            return f"arr{self.shape}"
        if self.kind == "list":
            return f"list[{self.elem}]*{self.length}"
        if self.kind in ("tuple", "dict"):
            return f"{self.kind}{self.items}"
        return self.kind

    @property
    def numeric(self):
        """A float or an array: something arithmetic applies to."""
        return self.kind in ("float", "arr")

    @property
    def size(self):
        return int(np.prod(self.shape)) if self.kind == "arr" else 1


FLOAT = Ty("float")


def arr(*shape):
    return Ty("arr", tuple(shape))


def num(shape):
    """The numeric type of ``shape``: a float for ``()``, else an array."""
    return FLOAT if shape == () else arr(*shape)


def shape_of(ty):
    return ty.shape if ty.kind == "arr" else ()


def integer(bound):
    return Ty("int", length=bound)


def list_of(elem, length):
    return Ty("list", elem=elem, length=length)


def tuple_of(*items):
    return Ty("tuple", items=tuple(items))


def named_of(a, b):
    """A ``Pair(a, b)`` named tuple of two values."""
    return Ty("named", items=(("a", a), ("b", b)))


def dict_of(**items):
    return Ty("dict", items=tuple(items.items()))


# Shapes the generator works with (any shape may appear, but operands are drawn from these).
SHAPES = [(), (1,), (2,), (3,), (1, 3), (2, 1), (3, 1), (2, 2), (2, 3), (3, 2), (3, 3)]


def broadcast(a, b):
    """The broadcast shape of ``a`` and ``b``, or None when they do not broadcast."""
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None


def _with(target):
    return SHAPES if target in SHAPES else SHAPES + [target]


def operand_pairs(target):
    """Pairs of shapes (from SHAPES and ``target``) that broadcast to exactly ``target``."""
    shapes = _with(target)
    return [(a, b) for a in shapes for b in shapes if broadcast(a, b) == target]


def fits_into(target):
    """Shapes that broadcast into ``target`` without changing it (for ``z[...] op= e``)."""
    return [s for s in _with(target) if broadcast(s, target) == target]


def index_shape(shape, index_text):
    """The shape of ``a<index_text>`` for an array ``a`` of ``shape``, or None if invalid."""
    a = np.zeros(shape)
    try:
        return tuple(eval("a" + index_text, {"a": a, "np": np}).shape)  # noqa: S307
    except (IndexError, ValueError, TypeError):
        return None


def random_value(ty, rng):
    """An input value of type ``ty`` (floats in [-1.5, 1.5])."""
    if ty.kind == "float":
        return round(rng.uniform(-1.5, 1.5), 6)
    if ty.kind == "arr":
        return np.array([round(rng.uniform(-1.5, 1.5), 6) for _ in range(ty.size)]
                        ).reshape(ty.shape)
    if ty.kind in ("int", "count"):
        return ty.length
    if ty.kind == "list":
        return [random_value(ty.elem, rng) for _ in range(ty.length)]
    if ty.kind == "tuple":
        return tuple(random_value(t, rng) for t in ty.items)
    if ty.kind == "dict":
        return {k: random_value(t, rng) for k, t in ty.items}
    if ty.kind == "named":
        return Pair(*(random_value(t, rng) for _, t in ty.items))
    raise ValueError(ty)


def differentiable(ty):
    """Whether a parameter of this type can be differentiated (floats inside)."""
    if ty.kind in ("float", "arr"):
        return True
    if ty.kind == "list":
        return differentiable(ty.elem)
    if ty.kind == "tuple":
        return all(differentiable(t) for t in ty.items)
    if ty.kind in ("dict", "named"):
        return all(differentiable(t) for _, t in ty.items)
    return False
