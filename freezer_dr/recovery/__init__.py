"""Recovery of a dead host: fence -> isolate -> evacuate -> notify."""
