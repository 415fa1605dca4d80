"""The repository interface every storage backend implements.

Records go in and come out as plain JSON dicts, always copies: a caller that
edits a returned dict changes nothing in the store until it saves again.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")

#: Default for ``set_meta(expected=...)``: "no compare, just set".
UNSET: Any = object()


class Repository(ABC):
    """Cases, their event history, config versions and a small key-value table."""

    # -- cases ---------------------------------------------------------------
    @abstractmethod
    def save_case(self, case: dict, expected_revision: int | None = None) -> dict:
        """Store ``case`` and return the stored copy.

        A missing or empty ``"id"`` gets a new one (``C<yyyymmdd>-<6 hex>``).
        The store sets ``"revision"`` (previous + 1, first save 1) and
        ``"updated_at"``. With ``expected_revision`` (the revision the caller
        opened; 0 for "new"), a save over someone else's newer save raises
        ConflictError and stores nothing.
        """

    @abstractmethod
    def get_case(self, case_id: str) -> dict | None:
        """The stored case, or None."""

    @abstractmethod
    def list_cases(self) -> list[dict]:
        """All cases, ordered by id."""

    def read_cases(self, view: "Callable[[list[dict]], T]") -> "T":
        """Run ``view`` over every case without copying them, and return its result.

        For lists, searches and counts over many cases: copying 20,000 records costs
        more than the query. ``view`` must treat the records as read-only and return
        new objects (rows, counts), never the records themselves.
        """
        return view(self.list_cases())

    @abstractmethod
    def count_cases(self) -> int:
        """How many cases are stored."""

    @abstractmethod
    def delete_case(self, case_id: str) -> bool:
        """Delete the case and its events; True when the case existed."""

    @abstractmethod
    def save_cases_bulk(self, cases: list[dict], events: Sequence[tuple[str, dict]] = (),
                        audit: Sequence[Any] = ()) -> list[dict]:
        """Store many cases with few writes (demo data); no revision checks. Returns stored copies.

        ``events`` (``(case_id, event)`` pairs, as ``add_events_bulk`` takes them; a case id
        may be one given in ``cases``) and ``audit`` (``storage.audit.PendingEntry``s) belong
        to the same change: after a crash at any point, all of it is there or none of it.
        """

    @abstractmethod
    def save_case_with_events(self, case: dict, events: list[dict], expected_revision: int | None = None,
                              audit: Any = None) -> dict:
        """Store ``case`` and append ``events`` to its history as ONE change: after a crash at
        any point, either all of it is there or none of it (an intake and its first events, a
        status and its event). ``audit`` (a ``storage.audit.PendingEntry``) is the change's
        audit entry, written with it; the store adds ``case_id``. Returns the stored case;
        revision rules as in ``save_case``.
        """

    # -- events --------------------------------------------------------------
    @abstractmethod
    def add_event(self, case_id: str, event: dict) -> dict:
        """Append an event (a dict with ``"type"``) to a stored case's history.

        The store adds ``"case_id"``, ``"seq"`` (1, 2, … per case) and ``"at"``
        unless given. Returns the stored event.
        """

    @abstractmethod
    def add_events_bulk(self, events: list[tuple[str, dict]], audit: Sequence[Any] = ()) -> int:
        """Append many ``(case_id, event)`` pairs with few writes (demo data, imports).

        Every case must exist; seqs continue each case's history in list order.
        ``audit`` entries are written with them, as one change. Returns how many events were stored.
        """

    @abstractmethod
    def events(self, case_id: str) -> list[dict]:
        """The case's events ordered by ``seq``."""

    # -- config versions -----------------------------------------------------
    @abstractmethod
    def save_version(self, version: dict) -> dict:
        """Store a config version keyed by ``version["id"]`` (a content hash).

        Saving an id that is already stored changes nothing and returns the
        stored one. The store adds ``"saved_seq"`` (1, 2, … in saving order).
        """

    @abstractmethod
    def get_version(self, version_id: str) -> dict | None:
        """The stored version, or None."""

    @abstractmethod
    def list_versions(self) -> list[dict]:
        """All versions in the order they were first saved."""

    # -- meta ----------------------------------------------------------------
    @abstractmethod
    def get_meta(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default``."""

    @abstractmethod
    def set_meta(self, key: str, value: Any, expected: Any = UNSET, audit: Any = None) -> None:
        """Store ``value`` under ``key``.

        With ``expected``, this is compare-and-set: when the current value
        (None if unset) differs from ``expected``, raise ConflictError and
        change nothing. With ``audit``, the value and that entry land
        together, as in ``save_case_with_events`` (a ``PendingEntry``: a publish is never
        live without the entry saying who published it).
        """

    # -- lifecycle -----------------------------------------------------------
    @abstractmethod
    def close(self) -> None:
        """Release files and locks; the repository is unusable afterwards."""

    def __enter__(self) -> "Repository":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
