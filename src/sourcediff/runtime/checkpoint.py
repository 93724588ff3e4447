"""Checkpointing schedules for loops under `with sourcediff.checkpoint(snapshots=K):`.

A checkpointed loop runs its forward sweep without taping the body. At some steps it stores a
*snapshot* of the loop-carried state (at most K at a time). The adjoint sweep then asks the
schedule for *actions* and carries them out in generated code. An action is (flags, a, b); its
flags say what to do, in this order:

    RESTORE (1)    set the loop-carried state to the snapshot taken before step a
    ADVANCE (2)    run the plain primal body for steps a .. b-1 (recomputation)
    TAKESHOT (4)   store the current state, the state before step b, as a snapshot
    STEP (8)       run step b's body with taping, then immediately its adjoint

The steps are reversed in the order n-1, ..., 0, each exactly once.

* A loop whose trip count n is known on entry (a `for` loop over a range, without `break`)
  follows the binomial schedule of Griewank and Walther (Revolve, ACM TOMS 26, 2000), optimal
  for K snapshots: reversing l steps with s snapshots, the first held by the state at the
  segment's start, costs F(l, s) = r*l - beta(s+1, r-1) forward steps, r the least integer with
  beta(s, r) = C(s+r, s) >= l. The schedule splits a segment of l steps at m, with the left part
  reversed with s snapshots and at most r-1 repetitions and the right part with s-1 snapshots
  and at most r (checked against the recursion F(l, s) = min_m m + F(l-m, s-1) + F(m, s)):

      max(beta(s, r-2) + 1, l - beta(s-1, r)) <= m <= min(beta(s, r-1), l - beta(s-1, r-1)).

  The forward sweep stores the snapshots of the first descent (the split points of the last
  segment, recursively); the reversal takes the others as it goes.
* A `while` loop or a loop that can `break` has no trip count on entry: an *online* schedule.
  During the sweep it keeps the snapshots the binomial schedule would hold at the end of a loop
  of beta(K, r) steps ("level" r: snapshots at the prefix sums of beta(K-j, r-1)), and when the
  loop outgrows beta(K, r) it moves up a level, evicting the old level's snapshots from the
  latest one backwards as the new level needs their slots. When the loop ends, n is known: the
  schedule drops the old-level snapshots that would cost more slots than they save and reverses
  the segments between the rest binomially.

Snapshots copy arrays and containers. A value that may share its buffer with another live name
(`shared`, decided by the compiler) is restored by writing the copy back into the same object,
so views and aliases see the restored values too; the others are restored as fresh copies. When
the tape is a measured tape (`Derivative.tape_bytes`) the snapshots' bytes count on it.

Depends only on numpy and the runtime core.
"""

from __future__ import annotations

import numpy as np

from .core import _MeasuredTape, value_bytes
from .inplace import copy_value

_CK_RESTORE, _CK_ADVANCE, _CK_TAKESHOT, _CK_STEP = 1, 2, 4, 8   # the actions' flags


def checkpoint_pragma(snapshots):
    """The marker the compiler puts at the top of a checkpointed loop's body (it is taken out
    again by reverse mode; forward mode and plain runs ignore it)."""
    return snapshots


class _CkNullTape:
    """A tape that keeps nothing: the plain recomputation of a step calls the forward-sweep
    functions of user functions with it."""

    __slots__ = ()

    def append(self, value):
        pass


null_tape = _CkNullTape()


# ---- the binomial numbers
def _ck_beta(s, r):
    """beta(s, r) = C(s + r, s): the most steps s snapshots reverse with r repetitions."""
    if r < 0 or s < 0:
        return 0
    k = min(s, r)
    b = 1
    for i in range(1, k + 1):   # C(s + r, k), exactly (`math` is not imported by export)
        b = b * (s + r - k + i) // i
    return b


def _ck_repetitions(steps, snapshots):
    """The least r with beta(snapshots, r) >= steps."""
    r, b = 0, 1
    while b < steps:
        r += 1
        b = b * (snapshots + r) // r
    return r


def checkpoint_forward_steps(steps, snapshots):
    """The least number of forward steps (plain, untaped) that reverses `steps` steps with
    `snapshots` snapshots, the first holding the initial state: Griewank and Walther's
    r*l - beta(s+1, r-1)."""
    if steps <= 1:
        return 0
    if snapshots == 1:
        return steps * (steps - 1) // 2
    r = _ck_repetitions(steps, snapshots)
    return r * steps - _ck_beta(snapshots + 1, r - 1)


def _ck_split(steps, snapshots):
    """Where an optimal schedule takes its next snapshot in a segment of `steps` steps whose
    start holds one of `snapshots` >= 2 snapshots (the largest optimal split)."""
    r = _ck_repetitions(steps, snapshots)
    high = min(_ck_beta(snapshots, r - 1), steps - _ck_beta(snapshots - 1, r - 1))
    return max(high, 1)


def _ck_spine(steps, snapshots):
    """The positions the first descent of the binomial schedule stores (0 first)."""
    positions = [0]
    start, free = 0, snapshots
    while free >= 2 and steps - start >= 2:
        start += _ck_split(steps - start, free)
        positions.append(start)
        free -= 1
    return positions


# ---- saving and restoring state
def _ck_copy(value):
    """A copy of a value no other name shares: arrays and containers copied, numbers kept."""
    kind = type(value)
    if kind is float or kind is int or value is None:
        return value
    if kind is np.ndarray:
        return value.copy()
    return copy_value(value)


def _ck_keep(value):
    """A snapshot of `value` that remembers its objects, to write the copy back into them."""
    if isinstance(value, np.ndarray):
        if value.flags.writeable:
            return ("a", value, value.copy())
        return ("c", value.copy())
    if isinstance(value, list):
        return ("l", value, [_ck_keep(v) for v in value])
    if isinstance(value, dict):
        return ("d", value, {k: _ck_keep(v) for k, v in value.items()})
    if isinstance(value, tuple):
        return ("t", type(value), [_ck_keep(v) for v in value])
    return ("v", value)


def _ck_back(kept):
    """The value `_ck_keep` saw, written back into the same objects."""
    kind = kept[0]
    if kind == "a":
        _, ref, saved = kept
        np.copyto(ref, saved)
        return ref
    if kind == "c":
        return kept[1].copy()
    if kind == "l":
        _, ref, items = kept
        ref[:] = [_ck_back(v) for v in items]
        return ref
    if kind == "d":
        _, ref, items = kept
        values = {k: _ck_back(v) for k, v in items.items()}
        ref.clear()
        ref.update(values)
        return ref
    if kind == "t":
        _, cls, items = kept
        values = [_ck_back(v) for v in items]
        return cls(*values) if hasattr(cls, "_fields") else cls(values)
    return kept[1]


def _ck_kept_bytes(kept):
    kind = kept[0]
    if kind == "ref":
        return 0
    if kind == "a":
        return kept[2].nbytes
    if kind in ("c", "v"):
        return value_bytes(kept[1])
    if kind in ("l", "t"):
        return sum(_ck_kept_bytes(v) for v in kept[2])
    if kind == "d":
        return sum(_ck_kept_bytes(v) for v in kept[2].values())
    return 0


class Checkpoints:
    """The snapshots and the schedule of one run of one checkpointed loop.

    Generated code calls `store(k, state)` in the forward sweep when the step counter reaches
    `first` (then the position `store` returns), `finish(n)` after the loop, and in the adjoint
    sweep iterates over `actions()`, calling `restore(p)` and `takeshot(p, state)` for RESTORE
    and TAKESHOT. `state` is the tuple of the loop-carried values; `shared` says which of them
    are restored into their own objects."""

    def __init__(self, snapshots, steps, tape, shared):
        if isinstance(snapshots, (bool, np.bool_)) or not isinstance(
                snapshots, (int, np.integer)) or snapshots < 1:
            raise ValueError("sourcediff.checkpoint needs a positive integer number of "
                             f"snapshots, not {snapshots!r}")
        self.snapshots = int(snapshots)
        self.steps = steps
        self.shared = tuple(shared)
        self.any_shared = any(self.shared)
        self.splits = {}
        self.tape = tape if isinstance(tape, _MeasuredTape) else None
        self.saved = {}          # position -> (kept values, bytes)
        self.n = None
        self.advanced = 0        # steps recomputed by ADVANCE actions
        self.most = 0            # the most snapshots held at once
        if steps is not None:    # the binomial schedule: the first descent is known now
            self.plan = _ck_spine(steps, self.snapshots) if steps > 0 else []
            self.plan.reverse()
            self.first = self.plan.pop() if self.plan else -1
        else:                    # online: level 1 keeps a snapshot at every step
            self.level = 1
            self.spine = set()
            self.index = 0
            self.first = 0

    # -- the forward sweep
    def store(self, k, state):
        """Store the state before step `k`; returns the next step to store at (or -1)."""
        if self.steps is not None:
            self._save(k, state)
            return self.plan.pop() if self.plan else -1
        return self._store_online(k, state)

    def _store_online(self, k, state):
        K = self.snapshots
        if k == _ck_beta(K, self.level) and k > 0:
            self.level += 1            # the loop outgrew this level: start the next one
            self.spine = {0}
            self.index = 1
        if len(self.saved) == K:       # evict the latest snapshot of an older level
            older = [p for p in self.saved if p not in self.spine]
            self._free(max(older))
        self._save(k, state)
        self.spine.add(k)
        self.index += 1
        if K == 1:
            return -1
        end = _ck_beta(K, self.level)
        if self.index <= K - 1:
            following = k + _ck_beta(K - self.index + 1, self.level - 1)
            if following < end:
                return following
        return end

    def finish(self, n):
        """The loop ran `n` steps: choose the snapshots the reversal keeps."""
        self.n = n
        if self.steps is not None or not self.saved:
            return
        spine = sorted(p for p in self.saved if p in self.spine)
        older = sorted(p for p in self.saved if p not in self.spine)
        best, keep = None, 0
        for d in range(len(older) + 1):
            cost = self._cost(sorted(older[:d] + spine), n)
            if best is None or cost < best:
                best, keep = cost, d
        for p in older[keep:]:
            self._free(p)

    def _cost(self, positions, n):
        K = self.snapshots
        total = 0
        for j, p in enumerate(positions):
            end = positions[j + 1] if j + 1 < len(positions) else n
            total += checkpoint_forward_steps(end - p, K - j)
        return total

    # -- the adjoint sweep
    def actions(self):
        """(flags, a, b) tuples that reverse the n steps. The flags say what to do, in this
        order: RESTORE (1) the snapshot before step a; ADVANCE (2) from step a to step b;
        TAKESHOT (4) of the state before step b; STEP (8): step b taped, then its adjoint."""
        n = self.n
        if not n:
            return
        positions = sorted(self.saved)
        K = self.snapshots
        tasks = []
        for j, p in enumerate(positions):
            end = positions[j + 1] if j + 1 < len(positions) else n
            tasks.append((None, p, 0))
            tasks.append((p, end, K - j))
        current = None    # the step whose start the loop-carried state is at, if known
        _ck_last[0] = self
        while tasks:
            start, end, free = tasks.pop()
            if start is None:
                self._free(end)
                continue
            restore = _CK_RESTORE if current != start else 0
            current = None
            length = end - start
            if length == 1:
                yield restore | _CK_STEP, start, start
            elif free == 1:
                for i in range(end - 1, start - 1, -1):
                    flags = _CK_STEP | (restore if i == end - 1 else _CK_RESTORE)
                    if i > start:
                        self.advanced += i - start
                        flags |= _CK_ADVANCE
                    yield flags, start, i
            else:
                split = start + self._split(length, free)
                self.advanced += split - start
                yield restore | _CK_ADVANCE | _CK_TAKESHOT, start, split
                tasks.append((start, split, free))
                tasks.append((None, split, 0))
                tasks.append((split, end, free - 1))
                current = split

    def _split(self, length, free):
        key = (length, free)
        split = self.splits.get(key)
        if split is None:
            split = self.splits[key] = _ck_split(length, free)
        return split

    def restore(self, p):
        """The loop-carried state before step `p` (fresh copies or written back)."""
        kept = self.saved[p][0]
        if not self.any_shared:
            return tuple(map(_ck_copy, kept))
        # the objects first, then the names that were views of them or the same object
        values = [None if v[0] == "ref" else _ck_back(v) if s else copy_value(v[1])
                  for v, s in zip(kept, self.shared)]
        return tuple(v[1] if v[0] == "ref" else value for v, value in zip(kept, values))

    def takeshot(self, p, state):
        """Store the current state as the snapshot before step `p` (during the reversal)."""
        self._save(p, state)

    @property
    def forward_steps(self):
        """Plain forward steps so far: the sweep's n and every recomputed step."""
        return (self.n or 0) + self.advanced

    # -- the store
    def _save(self, p, state):
        if not self.any_shared:
            kept = tuple(map(_ck_copy, state))
            size = value_bytes(kept) if self.tape is not None else 0
        else:
            kept, size = self._keep(state)
        self.saved[p] = (kept, size)
        if len(self.saved) > self.most:
            self.most = len(self.saved)
        if self.tape is not None:
            self.tape.bytes += size
            self.tape.peak = max(self.tape.peak, self.tape.bytes)

    def _keep(self, state):
        kept = [None] * len(state)
        whole = set()     # ids of the arrays this snapshot writes back
        # arrays that own their data first, so that views of them need no copy of their own
        order = sorted(range(len(state)), key=lambda i: getattr(state[i], "base", None)
                       is not None)
        for i in order:
            v, s = state[i], self.shared[i]
            if s and isinstance(v, np.ndarray):
                base = v
                while isinstance(base, np.ndarray) and id(base) not in whole:
                    base = base.base
                if isinstance(base, np.ndarray):   # the same object, or a view of one
                    kept[i] = ("ref", v)
                    continue
            kept[i] = _ck_keep(v) if s else ("c", copy_value(v))
            if kept[i][0] == "a":
                whole.add(id(v))
        kept = tuple(kept)
        size = sum(_ck_kept_bytes(v) for v in kept) if self.tape is not None else 0
        return kept, size

    def _free(self, p):
        _, size = self.saved.pop(p)
        if self.tape is not None:
            self.tape.bytes -= size


_ck_last = [None]   # the schedule of the checkpointed loop reversed last


def checkpoint_statistics():
    """What the checkpointed loop reversed last did: its `steps`, `snapshots`, the plain
    `forward_steps` (sweep and recomputation), the optimum for that many steps and snapshots
    (`optimal_forward_steps`, Revolve's count) and the `most_snapshots` held at once; None if
    no checkpointed loop ran. For tests and measurements."""
    ck = _ck_last[0]
    if ck is None:
        return None
    return {"steps": ck.n, "snapshots": ck.snapshots, "forward_steps": ck.forward_steps,
            "optimal_forward_steps": checkpoint_forward_steps(ck.n or 0, ck.snapshots),
            "most_snapshots": ck.most, "schedule": "binomial" if ck.steps is not None
            else "online"}


def checkpointed(snapshots, steps, tape, shared):
    """The schedule and snapshots for one run of a checkpointed loop (`steps`: its trip count
    when known on entry, else None)."""
    return Checkpoints(snapshots, steps, tape, shared)


__all__ = ["Checkpoints", "checkpoint_forward_steps", "checkpoint_pragma",
           "checkpoint_statistics", "checkpointed", "null_tape"]
