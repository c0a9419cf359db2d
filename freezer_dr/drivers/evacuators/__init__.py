"""Evacuators: rebuild a fenced host's instances elsewhere."""
