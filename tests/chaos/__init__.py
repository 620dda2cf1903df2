"""Fault injection: many posts, several users and dispatchers, faults everywhere; then the invariants."""
