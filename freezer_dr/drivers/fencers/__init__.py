"""Fencers: power a dead host off and read the power state back."""
