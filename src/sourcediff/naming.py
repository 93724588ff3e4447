"""Deterministic names for generated code: `dx` (adjoint), `x_dot` (tangent), `t1, t2, ...`.

Names never depend on ids, hashes or randomness, so the same input gives byte-identical output.
"""

from __future__ import annotations


def identifier(func):
    """A readable Python identifier for naming generated code after `func` (`<lambda>` gives
    `lambda`)."""
    name = getattr(func, "__name__", "function")
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_")
    if not cleaned or cleaned[0].isdigit():
        cleaned = "f_" + cleaned
    return cleaned


class Namer:
    """Hands out fresh names that collide neither with the user's names nor with each other."""

    def __init__(self, taken=()):
        self.taken = set(taken)
        self.counters = {}

    def reserve(self, name):
        self.taken.add(name)
        return name

    def fresh(self, base="t"):
        """`t1`, `t2`, ... (or `base` itself when `base` ends with a non-digit and is free)."""
        n = self.counters.get(base, 0)
        while True:
            n += 1
            name = f"{base}{n}"
            if name not in self.taken:
                self.counters[base] = n
                return self.reserve(name)

    def fresh_exact(self, name):
        """`name` when free, else `name_2`, `name_3`, ..."""
        if name not in self.taken:
            return self.reserve(name)
        n = 1
        while f"{name}_{n + 1}" in self.taken:
            n += 1
        return self.reserve(f"{name}_{n + 1}")

    def exact_or_fresh(self, name):
        """`name` when it is free, else `name_1`, `name_2`, ..."""
        if name not in self.taken:
            return self.reserve(name)
        return self.fresh(name + "_")


class DerivativeNames:
    """Maps primal names to their derivative names (`x` -> `dx` or `x_dot`) without collisions."""

    def __init__(self, namer, style):
        self.namer = namer
        self.style = style
        self.names = {}

    def __getitem__(self, primal):
        name = self.names.get(primal)
        if name is None:
            base = f"d{primal}" if self.style == "adjoint" else f"{primal}_dot"
            name = self.namer.exact_or_fresh(base)
            self.names[primal] = name
        return name

    def __contains__(self, primal):
        return primal in self.names
