"""Training for new staff, built from the live pack: narratives and guided cases (``lessons``),
the quiz and its scoring, and the overview diagram."""

from engine.training.lessons import training_scenarios
from engine.training.quiz import score

__all__ = ["training_scenarios", "score"]
