"""The rule language and the decision: conditions parsed from YAML, a case's facts, and
``decide(pack, case)`` run on durable_rules (only ``durable_backend`` imports it); rules as sentences."""

from engine.rules.decide import Decision, decide, decide_prepared
from engine.rules.facts import Facts, prepare

__all__ = ["Decision", "decide", "decide_prepared", "Facts", "prepare"]
