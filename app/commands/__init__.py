"""Headless commands of ``python main.py COMMAND`` (see app/cli.py)."""
