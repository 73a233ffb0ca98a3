"""Explicit-state exploration of a spec with networkx: reachable states, traces, plans."""
