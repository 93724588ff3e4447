"""Stand-ins for the ``sourcediff`` module, to test the oracles without trusting the compiler.

``FiniteDifferenceAPI`` answers every transform with accurate finite differences, so the
oracles must call its answers ``ok``; the subclasses break one thing each (a wrong number, an
exception, a mutation, a refusal with or without a location, a wrong structure, a hang), and
the oracles must classify each one correctly.
"""

from __future__ import annotations

import inspect
import time

import numpy as np

from .values import deep_copy, flatten, unflatten


class FiniteDifferenceAPI:
    """grad/value_and_grad/jvp/hessian/hvp by 4th-order central differences."""

    def __init__(self):
        import sourcediff
        self.SourceDiffError = sourcediff.SourceDiffError

    @staticmethod
    def _indices(f, wrt):
        names = list(inspect.signature(f).parameters)
        items = wrt if isinstance(wrt, tuple) else (wrt,)
        return [names.index(w) if isinstance(w, str) else w for w in items]

    def _gradient(self, f, wrt, args, mode="reverse"):
        grads = []
        for i in self._indices(f, wrt):
            base = flatten(args[i])
            vec = np.array([self._partial(f, args, i, base, j) for j in range(base.size)])
            grads.append(unflatten(args[i], vec))
        return tuple(grads) if isinstance(wrt, tuple) else grads[0]

    @staticmethod
    def _partial(f, args, i, base, j, h=1e-3):
        def at(delta):
            new = deep_copy(list(args))
            vec = base.copy()
            vec[j] += delta
            new[i] = unflatten(args[i], vec)
            return float(f(*new))
        return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)

    def grad(self, f, wrt=0, mode="reverse", optimize=True):
        return lambda *args: self._gradient(f, wrt, args, mode)

    def value_and_grad(self, f, wrt=0, mode="reverse", optimize=True):
        return lambda *args: (f(*deep_copy(list(args))), self._gradient(f, wrt, args, mode))

    def jvp(self, f, wrt=0, optimize=True):
        def call(*all_args):
            n = len(self._indices(f, wrt))
            args, tangents = list(all_args[:-n]), all_args[-n:]
            g = self._gradient(f, wrt if isinstance(wrt, tuple) else (wrt,), args)
            dot = sum(float(flatten(a) @ flatten(t)) for a, t in zip(g, tangents))
            return f(*deep_copy(args)), dot
        return call

    def jacobian(self, f, wrt=0, mode="reverse", chunk_size=None):
        """Of a scalar function: its gradient, each block an array of its input's shape."""
        def call(*args):
            g = self._gradient(f, wrt, args, mode)
            blocks = tuple(np.asarray(b, dtype=float) for b in (
                g if isinstance(wrt, tuple) else (g,)))
            return blocks if isinstance(wrt, tuple) else blocks[0]
        return call

    def hessian(self, f, wrt=0):
        def call(*args):
            base = flatten(args[wrt])
            cols = []
            for j in range(base.size):
                cols.append(self._grad_partial(f, wrt, args, base, j))
            return np.stack(cols, axis=1).reshape(np.shape(args[wrt]) * 2)
        return call

    def hvp(self, f, wrt=0):
        def call(*args):
            *primal, v = args
            h = self.hessian(f, wrt)(*primal)
            n = flatten(primal[wrt]).size
            return unflatten(primal[wrt], h.reshape(n, n) @ flatten(v))
        return call

    def _grad_partial(self, f, wrt, args, base, j, h=1e-3):
        def at(delta):
            new = deep_copy(list(args))
            vec = base.copy()
            vec[j] += delta
            new[wrt] = unflatten(args[wrt], vec)
            return flatten(self._gradient(f, wrt, new))
        return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)


class WrongInForwardMode(FiniteDifferenceAPI):
    """Forward-mode gradients are off by 1e-3 in their first element."""

    def grad(self, f, wrt=0, mode="reverse", optimize=True):
        def call(*args):
            g = self._gradient(f, wrt, args, mode)
            if mode != "forward":
                return g
            vec = flatten(g)
            vec[0] += 1e-3
            return unflatten(g, vec)
        return call


class WrongAtOnePoint(FiniteDifferenceAPI):
    """Reverse-mode gradients are off by 1e-3 at the inputs ``at`` and right elsewhere (a
    stand-in for a branch that rounding decides differently at one point)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def grad(self, f, wrt=0, mode="reverse", optimize=True):
        def call(*args):
            g = self._gradient(f, wrt, args, mode)
            if mode == "forward" or not np.array_equal(flatten(list(args)), flatten(self.at)):
                return g
            vec = flatten(g)
            vec[0] += 1e-3
            return unflatten(g, vec)
        return call


class WrongWhenSourceContains(FiniteDifferenceAPI):
    """Gradients are off whenever the function's source contains ``needle`` (a stand-in for
    a bug in one derivative rule)."""

    def __init__(self, needle):
        super().__init__()
        self.needle = needle

    def grad(self, f, wrt=0, mode="reverse", optimize=True):
        broken = self.needle in inspect.getsource(f)

        def call(*args):
            g = self._gradient(f, wrt, args, mode)
            if not broken:
                return g
            return unflatten(g, flatten(g) * 1.5 + 0.25)
        return call


class Raising(FiniteDifferenceAPI):
    """``grad`` raises ``exc`` (built by ``make(f)``) from the transform."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def grad(self, f, wrt=0, mode="reverse", optimize=True):
        raise self.make(f)


class Mutating(FiniteDifferenceAPI):
    """Gradients are right but the call scribbles on its array arguments."""

    def grad(self, f, wrt=0, mode="reverse", optimize=True):
        def call(*args):
            g = self._gradient(f, wrt, args, mode)
            for a in args:
                if isinstance(a, np.ndarray):
                    a += 1.0
            return g
        return call


class ZeroDimensional(FiniteDifferenceAPI):
    """Right numbers, wrong type: 0-d arrays instead of floats, lists instead of tuples."""

    def grad(self, f, wrt=0, mode="reverse", optimize=True):
        def call(*args):
            g = self._gradient(f, wrt, args, mode)
            items = g if isinstance(g, tuple) else (g,)
            items = [np.array(x) if isinstance(x, float) else x for x in items]
            return list(items) if isinstance(g, tuple) else items[0]
        return call


class WrongValue(FiniteDifferenceAPI):
    """value_and_grad returns a value that is not the primal's."""

    def value_and_grad(self, f, wrt=0, mode="reverse", optimize=True):
        inner = super().value_and_grad(f, wrt, mode, optimize)

        def call(*args):
            value, g = inner(*args)
            return value + 1e-3, g
        return call


class Hanging(FiniteDifferenceAPI):
    """``grad`` never finishes (sleeps)."""

    def grad(self, f, wrt=0, mode="reverse", optimize=True):
        def call(*args):
            time.sleep(60)
        return call
