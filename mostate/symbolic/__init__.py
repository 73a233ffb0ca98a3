"""Unbounded and bounded proofs of a spec with Z3 (the only package that imports z3)."""
