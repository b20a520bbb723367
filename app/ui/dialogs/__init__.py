"""Dialogs of the window: each has a classmethod ``ask(parent, ...)`` tests can replace."""
