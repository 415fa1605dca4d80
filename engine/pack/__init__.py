"""Loading a configuration pack: one schema per file kind, next to its loader."""
from .loader import DEFAULT_PACK, load_pack, load_sources, read_sources

__all__ = ["DEFAULT_PACK", "load_pack", "load_sources", "read_sources"]
