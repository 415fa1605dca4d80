"""Case work: taking an intake, the case's life (status, plan, meetings, calendar), lists and
report figures, and who may see or change which case (``access``)."""

from engine.casework.access import Access, ScopedRepository
from engine.casework.cases import new_record, take_intake

__all__ = ["new_record", "take_intake", "Access", "ScopedRepository"]
