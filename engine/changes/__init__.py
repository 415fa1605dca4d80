"""Configuration changes: editing the pack's YAML (forms, rules, scenarios), running the scenarios,
previewing a draft's impact on stored cases, and publishing or rolling back versions."""

from engine.changes.scenarios import run_all
from engine.changes.versions import live_pack, publish, rollback

__all__ = ["live_pack", "publish", "rollback", "run_all"]
