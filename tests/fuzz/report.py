"""Reports: the per-feature outcome table, refusal kinds, failure groups, failure files."""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict

import numpy as np

from .generator import ALL_FEATURES, FEATURES
from .oracles import OUTCOMES


def replay_command(label, features, swarm=True):
    """The shell command that runs program ``label`` ("SEED:K") again."""
    cmd = f"python -m tests.fuzz --replay {label}"
    if frozenset(features) != ALL_FEATURES:
        cmd += f" --features {','.join(sorted(features))}"
    if not swarm:
        cmd += " --no-swarm"
    return cmd


def outcome_table(records):
    """Programs per outcome, overall and for every feature the programs use."""
    cols = list(OUTCOMES)
    rows = [("all", records)]
    for feature in FEATURES:
        rows.append((feature, [r for r in records if feature in r["features"]]))
    width = max(len(name) for name, _ in rows) + 2
    head = "feature".ljust(width) + "programs".rjust(9) + "".join(c.rjust(10) for c in cols)
    lines = [head, "-" * len(head)]
    for name, group in rows:
        counts = Counter(r["outcome"] for r in group)
        lines.append(name.ljust(width) + str(len(group)).rjust(9)
                     + "".join(str(counts.get(c, 0)).rjust(10) for c in cols))
    return "\n".join(lines)


def refusal_table(records):
    """Kinds of refusal messages, for programs without and with the aliasing features."""
    lines = []
    for title, alias in (("without alias", False), ("with alias", True)):
        group = [r for r in records if ("alias" in r["features"]) == alias]
        refused = [r for r in group if r["outcome"] == "refused"]
        share = 100.0 * len(refused) / max(1, len(group))
        lines.append(f"refused programs {title}: {len(refused)} of {len(group)} "
                     f"({share:.1f}%)")
        kinds = Counter()
        for r in refused:
            kinds.update({p["signature"] for p in r["problems"] if p["outcome"] == "refused"})
        for kind, n in kinds.most_common():
            lines.append(f"  {n:5d}  {kind}")
    return "\n".join(lines)


def failure_groups(records):
    """Failing programs grouped by the signature of their worst problem."""
    groups = defaultdict(list)
    for r in records:
        if r["outcome"] in ("wrong", "crash", "bad-error", "timeout", "invalid"):
            groups[r["problems"][0]["signature"]].append(r)
    lines = []
    for sig, group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        labels = ", ".join(r["label"] for r in group[:6]) + (" ..." if len(group) > 6 else "")
        lines.append(f"{len(group):5d}  {sig}\n       programs: {labels}")
        files = [r["file"] for r in group if r.get("file")]
        if files:
            lines.append(f"       minimized: {files[0]}" + (f" (+{len(files) - 1} more)"
                                                          if len(files) > 1 else ""))
    return "\n".join(lines) if lines else "  none"


def value_literal(x):
    """Python source that evaluates to ``x`` (floats at full precision)."""
    if isinstance(x, np.ndarray):
        return f"np.array({x.tolist()!r})"
    if isinstance(x, list):
        return "[" + ", ".join(value_literal(v) for v in x) + "]"
    if isinstance(x, tuple):
        inner = ", ".join(value_literal(v) for v in x)
        if hasattr(x, "_fields"):
            return f"{type(x).__name__}({inner})"
        return f"({inner},)" if len(x) == 1 else f"({inner})"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {value_literal(v)}" for k, v in x.items()) + "}"
    return repr(x)


_CHECK_FILE = '''

from collections import namedtuple  # noqa: E402

Pair = namedtuple("Pair", ["a", "b"])
ARGS = {args}
WRT = {wrt!r}


if __name__ == "__main__":
    import copy
    import inspect

    import sourcediff

    def _flat(x):
        if isinstance(x, dict):
            x = list(x.values())
        if isinstance(x, (list, tuple)):
            return [v for item in x for v in _flat(item)]
        return [float(v) for v in np.ravel(x)]

    def _rebuild(like, values):
        if isinstance(like, dict):
            return {{k: _rebuild(v, values) for k, v in like.items()}}
        if isinstance(like, (list, tuple)):
            items = [_rebuild(v, values) for v in like]
            return type(like)(*items) if hasattr(like, "_fields") else type(like)(items)
        if isinstance(like, np.ndarray):
            return np.array([next(values) for _ in range(like.size)]).reshape(like.shape)
        return next(values)

    def _fd(h=1e-6):
        """Central differences of f over every float of the WRT arguments."""
        names = list(inspect.signature(f).parameters)
        wrt = WRT if isinstance(WRT, tuple) else (WRT,)
        out = []
        for i in [names.index(w) if isinstance(w, str) else w for w in wrt]:
            base = _flat(ARGS[i])
            for j in range(len(base)):
                values = []
                for sign in (1.0, -1.0):
                    moved = list(base)
                    moved[j] += sign * h
                    args = copy.deepcopy(ARGS)
                    args[i] = _rebuild(ARGS[i], iter(moved))
                    values.append(float(f(*args)))
                out.append((values[0] - values[1]) / (2 * h))
        return np.array(out)

    print("finite differences:", _fd())
    for mode in ("reverse", "forward"):
        for optimize in (True, False):
            try:
                g = sourcediff.grad(f, wrt=WRT, mode=mode, optimize=optimize)(
                    *copy.deepcopy(ARGS))
                print(f"grad {{mode:7}} optimize={{optimize!s:5}}:", np.array(_flat(g)))
            except Exception as exc:
                print(f"grad {{mode:7}} optimize={{optimize!s:5}}:", type(exc).__name__, exc)
'''


def failure_file(prog, problem, record, features):
    """The text of a standalone file reproducing a minimized failure."""
    header = [
        f"# sourcediff fuzz failure: {problem.outcome} in {problem.check}",
        f"# program {record['label']}, minimized from size {record['size'][0]} to "
        f"{record['size'][1]}",
        f"# detail:   {_one_line(problem.detail)}",
    ]
    if problem.expected is not None:
        header.append(f"# expected: {_one_line(repr(problem.expected))}")
        header.append(f"# actual:   {_one_line(repr(problem.actual))}")
    header += [
        f"# replay the original program: {replay_command(record['label'], *features)}",
        "# run this file: python FILE (prints finite differences and sourcediff's gradients)",
        "",
    ]
    body = prog.render()
    check = _CHECK_FILE.format(args=value_literal(list(prog.args)), wrt=prog.wrt_arg())
    return "\n".join(header) + body + check


def _one_line(text, limit=400):
    text = re.sub(r"\s+", " ", str(text))
    return text if len(text) <= limit else text[:limit] + " ..."


def write_failure(out_dir, prog, problem, record, features):
    """Write the failure file; returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    label = record["label"].replace(":", "-")
    path = os.path.join(out_dir, f"{problem.outcome}-{label}.py")
    with open(path, "w") as fh:
        fh.write(failure_file(prog, problem, record, features))
    return path
