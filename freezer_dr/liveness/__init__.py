"""The liveness core: pure, no I/O, no wall clock; time is an argument."""
