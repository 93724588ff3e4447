"""sourcediff's differential fuzzer: random valid programs, many oracles, automatic shrinking.

``python -m tests.fuzz --seed S --count N`` runs a campaign; docs/fuzzing.md explains it.
"""
