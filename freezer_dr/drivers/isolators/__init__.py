"""Isolators: take a dead host out of the scheduler's hands."""
