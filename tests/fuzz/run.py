"""Campaigns: generate N programs from a seed, check each, shrink failures, report.

    python -m tests.fuzz --seed 1 --count 500 --jobs 2 --out fuzz-failures
    python -m tests.fuzz --replay 1:137          # one program again, with its source
    python -m tests.fuzz --features all,-alias --count 200

Program ``k`` of seed ``S`` is generated from a seed derived from (S, k), so ``--replay S:k``
rebuilds exactly that program (pass the same ``--features``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass

from .generator import FEATURES, generate, parse_features
from .oracles import FAILURES, SECOND_ORDER, run_program
from .report import (
    failure_groups,
    outcome_table,
    refusal_table,
    replay_command,
    write_failure,
)
from .shrink import shrink

SHRINK_OUTCOMES = ("wrong", "crash", "bad-error")


@dataclass
class Options:
    """Everything a worker needs to check one program."""

    seed: int = 0
    features: frozenset = frozenset(FEATURES)
    swarm: bool = True             # each program enables a random subset of ``features``
    timeout: float = 60.0
    second_every: int = 4          # jvp/hessian/hvp on every n-th program (0: never)
    autograd: bool = True
    shrink: bool = True
    shrink_seconds: float = 60.0
    out: str | None = None
    workdir: str | None = None


def check_one(opts, k, api=None):
    """Generate, check and (when it fails) shrink program ``k``; returns a record dict."""
    prog = generate(opts.seed, k, opts.features, swarm=opts.swarm)
    second = bool(opts.second_every) and k % opts.second_every == 0
    result = run_program(prog, api, workdir=opts.workdir, timeout=opts.timeout,
                         second_order=second, use_autograd=opts.autograd)
    record = _record(prog, result)
    if result.outcome in SHRINK_OUTCOMES and opts.shrink:
        _shrink_into(record, prog, result, opts, api)
    return record


def _record(prog, result):
    problems = sorted(result.problems, key=lambda p: _rank(p.outcome))
    return {
        "label": prog.label, "outcome": result.outcome,
        "features": sorted(prog.features_used()), "tags": sorted(prog.tags()),
        "problems": [{"check": p.check, "outcome": p.outcome, "detail": p.detail,
                      "signature": p.signature(), "expected": _short(p.expected),
                      "actual": _short(p.actual)} for p in problems],
        "notes": result.notes, "seconds": result.seconds, "cpu": result.cpu,
        "size": (prog.size(), None),
        "file": None, "minimized": None,
    }


def _rank(outcome):
    from .oracles import SEVERITY
    return SEVERITY[outcome]


def _short(value, limit=600):
    text = repr(value) if value is not None else None
    return text if text is None or len(text) <= limit else text[:limit] + " ..."


def _shrink_into(record, prog, result, opts, api):
    """Shrink the failing ``prog``; store the minimized source (and file) in ``record``."""
    import sourcediff
    problem = result.failure
    small, tries = shrink(prog, problem, result.args, api or sourcediff, opts.workdir,
                          timeout=opts.timeout, seconds=opts.shrink_seconds)
    final = run_program(small, api, workdir=opts.workdir, timeout=opts.timeout,
                        checks=None, second_order=problem.check in SECOND_ORDER,
                        redraws=0)
    same = [p for p in final.problems if p.check == problem.check
            and p.outcome == problem.outcome] or [problem]
    record["size"] = (prog.size(), small.size())
    record["minimized"] = small.render()
    record["minimized_problem"] = {"check": same[0].check, "detail": same[0].detail,
                                   "expected": _short(same[0].expected),
                                   "actual": _short(same[0].actual)}
    record["shrink_tries"] = tries
    record["minimized_checks"] = sorted({f"{p.check}:{p.outcome}" for p in final.problems})
    if opts.out:
        record["file"] = write_failure(opts.out, small, same[0], record,
                                       (opts.features, opts.swarm))


# --------------------------------------------------------------------------------------------
# Running many programs
# --------------------------------------------------------------------------------------------

_WORKER = {}


def _init_worker(opts):
    opts.workdir = tempfile.mkdtemp(prefix="sdfuzz-")
    _WORKER["opts"] = opts
    import sourcediff  # noqa: F401  (import once per worker)


def _work(k):
    return check_one(_WORKER["opts"], k)


def campaign(opts, indices, jobs=1, progress=None):
    """Check programs ``indices``; returns their records in index order."""
    records = []
    if jobs <= 1:
        _init_worker(opts)
        try:
            for k in indices:
                records.append(_work(k))
                if progress:
                    progress(records)
        finally:
            shutil.rmtree(_WORKER["opts"].workdir, ignore_errors=True)
        return records
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(opts,),
                  maxtasksperchild=200) as pool:
        for record in pool.imap_unordered(_work, indices, chunksize=1):
            records.append(record)
            if progress:
                progress(records)
    return sorted(records, key=lambda r: int(r["label"].split(":")[1]))


def summary(records, opts, seconds):
    """The campaign's report as text."""
    n = len(records)
    lines = [f"sourcediff fuzz: seed {opts.seed}, {n} programs, features "
             f"{','.join(sorted(opts.features))}, {seconds:.1f} s",
             "", outcome_table(records), "", refusal_table(records), "",
             "failures (worst problem per program):", failure_groups(records)]
    disagreements = [r for r in records if any("autograd disagrees" in x for x in r["notes"])]
    if disagreements:
        lines += ["", f"autograd disagreed with FD on {len(disagreements)} programs: "
                  + ", ".join(r["label"] for r in disagreements[:10])]
    failing = [r for r in records if r["outcome"] in FAILURES]
    if failing:
        lines += ["", "replay a failure with, e.g.:",
                  "  " + replay_command(failing[0]["label"], opts.features, opts.swarm)]
    return "\n".join(lines)


def describe_record(record):
    """Every problem of one program (and its minimized version), for --replay."""
    lines = [f"program {record['label']}: {record['outcome']}  ({record['seconds']:.2f} s)"]
    for p in record["problems"]:
        lines.append(f"  {p['outcome']:9} {p['check']:20} {p['detail'][:300]}")
        if p["expected"] is not None:
            lines.append(f"            expected {p['expected']}")
            lines.append(f"            actual   {p['actual']}")
    lines += [f"  note: {n}" for n in record["notes"]]
    if record.get("minimized"):
        mp = record["minimized_problem"]
        lines += ["", f"minimized (size {record['size'][0]} -> {record['size'][1]}, "
                  f"{record.get('shrink_tries')} tries): {mp['check']}: {mp['detail'][:300]}",
                  f"  fails: {', '.join(record['minimized_checks'])}", record["minimized"]]
        if record.get("file"):
            lines.append(f"written to {record['file']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def build_parser():
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="campaign seed (default 0)")
    p.add_argument("--count", type=int, default=100, help="number of programs (default 100)")
    p.add_argument("--start", type=int, default=0, help="first program index (default 0)")
    p.add_argument("--features", default="all",
                   help="comma list of features, 'all', or 'all,-alias' "
                        f"(features: {', '.join(FEATURES)})")
    p.add_argument("--no-swarm", action="store_true",
                   help="every program may use every feature (default: each program enables "
                        "a random half of them)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--out", help="directory for minimized failures (one .py file each)")
    p.add_argument("--replay", help="SEED:K[,SEED:K...]: run these programs, show them")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds per program (default 60)")
    p.add_argument("--second-every", type=int, default=4,
                   help="jvp/hessian/hvp on every n-th program (0: never; default 4)")
    p.add_argument("--no-autograd", action="store_true", help="skip the autograd check")
    p.add_argument("--no-shrink", action="store_true", help="do not shrink failures")
    p.add_argument("--shrink-seconds", type=float, default=60.0,
                   help="time budget per shrink (default 60)")
    p.add_argument("--json", help="write every program's record to this JSON file")
    p.add_argument("--list-features", action="store_true", help="list the features and exit")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def _options(ns, seed):
    return Options(seed=seed, features=parse_features(ns.features), swarm=not ns.no_swarm,
                   timeout=ns.timeout,
                   second_every=ns.second_every, autograd=not ns.no_autograd,
                   shrink=not ns.no_shrink, shrink_seconds=ns.shrink_seconds,
                   out=os.path.abspath(ns.out) if ns.out else None)


def _replay(ns):
    for item in ns.replay.split(","):
        seed, k = (int(v) for v in item.split(":"))
        opts = _options(ns, seed)
        prog = generate(seed, k, opts.features, swarm=opts.swarm)
        print(prog.render())
        print(f"ARGS = {prog.args!r}\nWRT = {prog.wrt_arg()!r}\n")
        opts.second_every = 1
        record = campaign(opts, [k])[0]
        print(describe_record(record))
    return 0


def _progress(total, quiet):
    start = time.monotonic()

    def show(records):
        if quiet or (len(records) % 20 and len(records) != total):
            return
        bad = sum(r["outcome"] in FAILURES for r in records)
        print(f"\r  {len(records)}/{total} programs, {bad} failing, "
              f"{time.monotonic() - start:.0f} s", end="", file=sys.stderr, flush=True)
    return show


def main(argv=None):
    ns = build_parser().parse_args(argv)
    if ns.list_features:
        for name, text in FEATURES.items():
            print(f"{name:13} {text}")
        return 0
    if ns.replay:
        return _replay(ns)
    opts = _options(ns, ns.seed)
    indices = list(range(ns.start, ns.start + ns.count))
    start = time.monotonic()
    records = campaign(opts, indices, jobs=ns.jobs, progress=_progress(len(indices), ns.quiet))
    if not ns.quiet:
        print(file=sys.stderr)
    print(summary(records, opts, time.monotonic() - start))
    if ns.json:
        import json
        with open(ns.json, "w") as fh:
            json.dump(records, fh, indent=1, default=str)
    return 1 if any(r["outcome"] in FAILURES for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
