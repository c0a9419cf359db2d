"""Notifiers: tell the administrators and the projects what happened."""
