"""The configuration pack: one schema and loader per YAML file kind, references checked across files,
and the validated, immutable ``Pack`` model (``model``) every other package reads."""
from engine.pack.loader import DEFAULT_PACK, bundled_packs, load_pack, load_sources, read_sources
from engine.pack.model import Pack

__all__ = ["DEFAULT_PACK", "Pack", "bundled_packs", "load_pack", "load_sources", "read_sources"]
