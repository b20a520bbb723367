"""Numbered schema migrations (``NNNN_name.py`` with ``up(db)``), run by app/models/schema.py.

A migration never imports the app's models (they describe the newest
schema): it declares the tables it creates as frozen copies, or uses
peewee's schema migrator, so it means the same thing forever.
"""
