"""nova: isolate a dead host (force-down, disable) and evacuate its
instances, one module per concern."""
