"""The validated, immutable objects a loaded pack is made of.

After ``load_pack`` only these move around: nothing downstream re-reads YAML or
meets a half-checked value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Mapping


def frozen(value: Any) -> Any:
    """Deep read-only copy of plain YAML data (dicts become mappingproxies, lists tuples)."""
    if isinstance(value, dict):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """Plain, JSON-able copy of data made by :func:`frozen`."""
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thawed(v) for v in value]
    return value


@dataclass(frozen=True)
class Choice:
    """An entry of a vocabulary or roster list: ASCII id, Japanese label, the rest as data."""

    id: str
    label: str
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


@dataclass(frozen=True)
class FormField:
    id: str
    type: str
    label: str
    required: bool = False
    choices: str | None = None
    show_if: Any = None                 # a conditions.Condition
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    help: str = ""
    personal: bool = False
    max_items: int | None = None
    item_label: str = ""
    fields: tuple["FormField", ...] = ()

    @property
    def is_container(self) -> bool:
        return self.type in ("group", "repeat")


@dataclass(frozen=True)
class Form:
    id: str
    label: str
    fields: tuple[FormField, ...]

    def field(self, field_id: str) -> FormField | None:
        for f in self.fields:
            if f.id == field_id:
                return f
        return None


@dataclass(frozen=True)
class AgencyRef:
    """A rule's agency action: a fixed id, or the agency of ``kind`` covering the case's area."""

    id: str | None = None
    kind: str | None = None
    covering: str | None = None


@dataclass(frozen=True)
class Action:
    programs: tuple[str, ...] = ()
    agencies: tuple[AgencyRef, ...] = ()
    meetings: tuple[str, ...] = ()
    priority: str | None = None
    resources: tuple[str, ...] = ()
    reason: str = ""
    proposed: tuple[str, ...] = ()       # programs proposed for a meeting to decide (参加支援), not decided


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    when: Any                            # a conditions.Condition
    then: Action
    enabled: bool = True
    source: str = ""                     # a short quote of the source the rule follows
    policy: str = ""                     # "city": the city's own policy (also when nothing else is given)
    law: str = ""                        # the law (and article) that requires what the rule does

    @property
    def is_policy(self) -> bool:
        """The rule is the city's policy, neither the source's words nor the law (changeable)."""
        return not self.source and not self.law


@dataclass(frozen=True)
class Derived:
    """A fact computed from the case before rules run (declared in rules.yaml)."""

    id: str
    label: str
    fn: str
    type: str                            # the fact type it yields
    field: str | None = None
    of: str | None = None
    where: Any = None
    when: Any = None


@dataclass(frozen=True)
class Members:
    self_group: str
    self_relation: str
    repeat: str


@dataclass(frozen=True)
class Pack:
    """A whole, validated configuration pack."""

    id: str
    name: str
    version: str                         # content hash of every file
    root: str
    info: Mapping[str, Any]
    vocab: Mapping[str, tuple[Choice, ...]]      # vocabularies and roster lists by name
    agencies: tuple[Choice, ...]
    programs: tuple[Choice, ...]
    meetings: tuple[Choice, ...]
    resources: tuple[Choice, ...]
    statuses: tuple[Choice, ...]
    initial_status: str
    on_outcome: Mapping[str, str]
    forms: Mapping[str, Form]
    members: Members
    derived: tuple[Derived, ...]
    rules: tuple[Rule, ...]
    sources: Mapping[str, str]          # file name → text, for diffs and the raw editor
    facts: Mapping[str, Any] = field(default_factory=dict)         # fact id → conditions.FactInfo
    member_facts: Mapping[str, Any] = field(default_factory=dict)  # member fact id → FactInfo
    resource_for: Mapping[str, Any] = field(default_factory=dict)  # resource id → Condition: whom it is for
    accept_days: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({"": 5}))  # agency kind → working days

    def choices(self, name: str) -> tuple[Choice, ...]:
        return self.vocab.get(name, ())

    def label(self, name: str, item_id: str) -> str:
        """Japanese label of ``item_id`` in list ``name``, or the id marked unknown.

        An old case may name an agency the roster no longer has; it is shown, not hidden.
        """
        for c in self.choices(name):
            if c.id == item_id:
                return c.label
        return f"{item_id}（不明なID）"

    def ids(self, name: str) -> tuple[str, ...]:
        return tuple(c.id for c in self.choices(name))

    @cached_property
    def secret_meetings(self) -> frozenset[str]:
        """The meetings whose members are bound to secrecy (支援会議): a case routed to one is
        confidential while someone in it has not consented (casework/access.py). Worked out once
        per pack: the case list asks for every case."""
        return frozenset(m.id for m in self.meetings if m.get("confidential"))

    @property
    def intake(self) -> Form:
        return self.forms["intake"]
