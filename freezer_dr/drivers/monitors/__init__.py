"""Monitors: the failed hosts, for the one-shot freezer-dr."""
