"""Adapters: one module per technology, each filling one or more ports."""
