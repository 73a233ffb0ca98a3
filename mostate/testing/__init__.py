"""Hypothesis strategies, the stateful test of the engine, and the conformance kit."""
