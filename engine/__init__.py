"""Tsunagu engine: the configuration pack, the routing decision, and the CLI."""
