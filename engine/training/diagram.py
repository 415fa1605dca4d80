"""Graphviz DOT for the 研修 diagrams, generated from the pack (never drawn by hand).

``overview_dot``: the five programs as clusters with their agencies, the meetings, the
entry paths the rules open from a consultation, and who sits in which meeting.
``path_dot``: one decision, rule by rule, and what each fired rule added.
Node ids are ASCII (``prog_…``, ``ag_…``, ``mt_…``); every label is Japanese from the YAML.
"""
from __future__ import annotations

import re

from engine.pack.model import Pack
from engine.rules.conditions import All
from engine.rules.decide import Decision
from engine.training.lessons import cadence_text, route_steps

_GRAPH = ('  graph [rankdir=LR, fontname="sans-serif", fontsize=12, nodesep=0.25, ranksep=0.6];\n'
          '  node [fontname="sans-serif", fontsize=11, shape=box, style="rounded,filled", fillcolor=white];\n'
          '  edge [fontname="sans-serif", fontsize=9];')
_FILL = {"programs": "#dbeafe", "agencies": "#ffffff", "meetings": "#fef3c7", "priorities": "#fee2e2"}
_EDGE = {"programs": "#1d4ed8", "agencies": "#15803d", "meetings": "#b45309", "priorities": "#b91c1c"}
_PREFIX = {"programs": "prog", "agencies": "ag", "meetings": "mt", "priorities": "pr"}


def q(text: str) -> str:
    """A DOT string literal.

    >>> q('「相談」 "x"\\n')
    '"「相談」 \\\\"x\\\\"\\\\n"'
    """
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def node_id(kind: str, item_id: str) -> str:
    """An ASCII DOT node id for a pack item.

    >>> node_id("agencies", "csw_area1"), node_id("meetings", "会議-1")
    ('ag_csw_area1', 'mt____1')
    """
    return f"{_PREFIX.get(kind, kind)}_{re.sub(r'[^A-Za-z0-9_]', '_', item_id)}"


def _attrs(**attrs: str) -> str:
    return ", ".join(f"{k}={q(v)}" for k, v in attrs.items())


def _agency_label(a) -> str:
    mark = "（仮）" if a.get("placeholder") else ""
    op = {"direct": "直営", "contracted": "委託"}.get(a.get("operation"), "")
    return f"{a.label}{mark}" + (f"\n{op}" + (f"・{a.get('count')}か所" if (a.get("count") or 1) > 1 else "") if op else "")


def _meeting_label(m) -> str:
    notes = [cadence_text(m.get("cadence"))]
    if m.get("consent_required"):
        notes.append("本人同意が必要")
    if m.get("confidential"):
        notes.append("守秘義務")
    return f"{m.label}\n" + "・".join(notes)


def _rule_targets(pack: Pack) -> dict[str, str]:
    """Agency id → label of the first enabled rule that routes to it (by id or by kind)."""
    out: dict[str, str] = {}
    for rule in pack.rules:
        if not rule.enabled:
            continue
        for ref in rule.then.agencies:
            for a in pack.agencies:
                if ref.id == a.id or (ref.kind and ref.kind == a.get("kind")):
                    out.setdefault(a.id, rule.label)
    return out


def overview_dot(pack: Pack) -> str:
    """The whole system: programs, agencies, meetings and the paths between them."""
    lines = ["digraph tsunagu {", _GRAPH,
             f'  soudan [{_attrs(label="相談", shape="doublecircle", fillcolor="#fde68a", tooltip="すべての相談を受け止めます")}];']
    programs = sorted(pack.programs, key=lambda p: p.get("number") or 0)
    for p in programs:
        lines += [f"  subgraph cluster_{node_id('programs', p.id)} {{",
                  f'    {_attrs(label=str(p.get("number")) + ". " + p.label)}; style="rounded,filled"; fillcolor="#eff6ff"; color="#93c5fd";',
                  f'    {node_id("programs", p.id)} [{_attrs(label=p.label, shape="folder", fillcolor=_FILL["programs"], tooltip=p.get("purpose", ""))}];']
        for a in (a for a in pack.agencies if a.get("program") == p.id):
            lines.append(f'    {node_id("agencies", a.id)} [{_attrs(label=_agency_label(a), tooltip="・".join(a.get("functions") or ()))}];')
        lines.append("  }")
    for a in (a for a in pack.agencies if a.get("program") not in {p.id for p in programs}):
        lines.append(f'  {node_id("agencies", a.id)} [{_attrs(label=a.label, style="rounded,dashed")}];')
    lines += ["  subgraph cluster_meetings {", f'    {_attrs(label="会議")}; style="rounded"; color="#f59e0b";']
    for m in pack.meetings:
        lines.append(f'    {node_id("meetings", m.id)} [{_attrs(label=_meeting_label(m), shape="ellipse", fillcolor=_FILL["meetings"], tooltip=m.get("purpose", ""))}];')
    lines.append("  }")
    # Paths: what every consultation goes to, then where the rules send it.
    for rule in pack.rules:
        if rule.enabled and isinstance(rule.when, All) and not rule.when.items:
            for p in rule.then.programs:
                lines.append(f'  soudan -> {node_id("programs", p)} [{_attrs(label=rule.label, color=_EDGE["programs"], penwidth="2")}];')
    labelled = set()
    for agency, label in _rule_targets(pack).items():
        # One rule reaching four area CSWs: say it once, not four times.
        attrs = _attrs(color=_EDGE["agencies"]) if label in labelled else _attrs(label=label, color=_EDGE["agencies"])
        labelled.add(label)
        lines.append(f'  soudan -> {node_id("agencies", agency)} [{attrs}];')
    for p in programs:
        for a in (a for a in pack.agencies if a.get("program") == p.id):
            lines.append(f'  {node_id("programs", p.id)} -> {node_id("agencies", a.id)} [{_attrs(color="#93c5fd", arrowhead="none")}];')
    for m in pack.meetings:
        label = "本人同意が必要" if m.get("consent_required") else "同意がなくても（守秘義務）" if m.get("confidential") else ""
        if m.get("program"):
            lines.append(f'  {node_id("programs", m.get("program"))} -> {node_id("meetings", m.id)} '
                         f'[{_attrs(label=label, color=_EDGE["meetings"], penwidth="2")}];')
        for a in m.get("members") or ():
            lines.append(f'  {node_id("agencies", a)} -> {node_id("meetings", m.id)} '
                         f'[{_attrs(style="dashed", color="#9ca3af", tooltip="構成員")}];')
    lines.append("}")
    return "\n".join(lines)


def path_dot(pack: Pack, decision: Decision) -> str:
    """One case's path: 相談 → each fired rule (in order) → what that rule added.

    One row per rule, top to bottom, with what it added first beside it; an item a later
    rule adds again gets one more arrow, not a second box.
    """
    lines = ["digraph path {", _GRAPH.replace("rankdir=LR", "rankdir=TB"),
             f'  soudan [{_attrs(label="相談", shape="doublecircle", fillcolor="#fde68a")}];']
    previous, seen = "soudan", set()
    for i, step in enumerate(route_steps(pack, decision), 1):
        rule, row = f"rule_{i}", []
        lines += [f'  {rule} [{_attrs(label=f"{i}. {step.label}", fillcolor="#f3f4f6", tooltip=step.reason)}];',
                  f'  {previous} -> {rule} [{_attrs(style="bold", weight="10")}];']
        previous = rule
        added = [(k, x) for k in ("programs", "agencies", "meetings") for x in getattr(step, k)]
        added += [("priorities", step.priority)] if step.priority else []
        for kind, item in added:
            node = node_id(kind, item)
            if node not in seen:
                seen.add(node)
                row.append(node)
                shape = {"programs": "folder", "meetings": "ellipse", "priorities": "octagon"}.get(kind, "box")
                lines.append(f'  {node} [{_attrs(label=pack.label(kind, item), shape=shape, fillcolor=_FILL[kind])}];')
            lines.append(f'  {rule} -> {node} [{_attrs(color=_EDGE[kind])}];')
        if row:
            lines.append(f"  {{rank=same; {rule}; {'; '.join(row)};}}")
    lines.append("}")
    return "\n".join(lines)
