"""A reference evaluator for the rule language, written from its documentation alone.

It reads a pack's raw YAML and decides a case in plain Python, without importing
anything from ``engine``: the engine runs rules on durable_rules (negation pushed down,
``in`` turned into ``$or``, counts computed before asserting), and an independent
reading of the same rules is the cheapest way to see that none of that changes an
answer. Deliberately naive: no compilation, no caching, one obvious loop per rule.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Mapping

import yaml

ALIASES = {"==": "=", "≠": "!=", "≤": "<=", "≥": ">="}
LIST_FILES = ("vocabularies", "roster", "programs", "meetings", "resources")


def load_pack_data(root: Path | str) -> dict:
    """The raw YAML of a pack: ``{"rules": …, "intake": …, "lists": {name: [items]}}``.

    ``lists`` holds every list a form's ``choices`` or a rule's action may name
    (vocabularies, roster, programs, meetings, resources), each as written.
    """
    root = Path(root)

    def read(name: str) -> Any:
        return yaml.safe_load((root / name).read_text(encoding="utf-8"))

    lists: dict[str, list] = {}
    for name in LIST_FILES:
        for key, value in (read(f"{name}.yaml") or {}).items():
            if isinstance(value, list):
                lists[key] = value
    return {"rules": read("rules.yaml"), "intake": read("forms/intake.yaml"), "lists": lists}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


# --- the case: clean values, hide what show_if hides, flatten ---------------------------

def _choice(items: list, value: Any) -> str:
    for item in items:
        if value == item["id"]:
            return item["id"]
    for item in items:  # a Japanese label (e.g. 長男), or a declared alias (夫 → 配偶者), stands for its id
        if value == item["label"] or value in (item.get("aliases") or ()):
            return item["id"]
    raise ValueError(f"no choice {value!r} in {[i['id'] for i in items]}")


def _clean(fields: list, data: Mapping, lists: Mapping) -> dict:
    out = {}
    for f in fields:
        value = data.get(f["id"])
        if _empty(value):
            continue
        kind = f["type"]
        if kind == "group":
            value = _clean(f["fields"], value, lists)
        elif kind == "repeat":
            value = [row for row in (_clean(f["fields"], r, lists) for r in value) if row]
        elif kind == "select":
            value = _choice(lists[f["choices"]], value)
        elif kind == "multiselect":
            value = list(dict.fromkeys(_choice(lists[f["choices"]], v) for v in value if not _empty(v)))
        elif kind == "date" and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        if not _empty(value) and value != {}:
            out[f["id"]] = value
    return out


def _flat(fields: list, case: Mapping) -> dict:
    """Top-level scalars by id, a group's fields as ``group.field``; repeats are not facts."""
    out = {}
    for f in fields:
        if f["id"] not in case:
            continue
        if f["type"] == "group":
            for k, v in case[f["id"]].items():
                out[f"{f['id']}.{k}"] = v
        elif f["type"] != "repeat":
            out[f["id"]] = case[f["id"]]
    return out


def _apply_show_if(fields: list, case: dict) -> dict:
    """Drop every field (top level or inside a group) whose show_if is false.

    Repeated until nothing changes, because a hidden field is unanswered and that may
    hide another field whose show_if reads it.
    """
    while True:
        facts = _flat(fields, case)
        changed = False
        new = {}
        for f in fields:
            if f["id"] not in case:
                continue
            if f.get("show_if") is not None and not holds(f["show_if"], facts):
                changed = True
                continue
            value = case[f["id"]]
            if f["type"] == "group":
                shown = {c["id"] for c in f["fields"] if c.get("show_if") is None or holds(c["show_if"], facts)}
                kept = {k: v for k, v in value.items() if k in shown}
                changed |= kept != value
                if not kept:
                    continue
                value = kept
            new[f["id"]] = value
        case = new
        if not changed:
            return case


# --- conditions ---------------------------------------------------------------------------

def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(left, dt.date) and isinstance(right, str):
        right = dt.date.fromisoformat(right)
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "in":
        return any(_compare(left, "=", r) for r in right)
    if op == "not_in":
        return not any(_compare(left, "=", r) for r in right)
    if op == "contains":
        return right in left
    if op == "not_contains":
        return right not in left
    raise ValueError(f"unknown operator {op!r}")


def holds(cond: Mapping, facts: Mapping, members: tuple = ()) -> bool:
    """Whether ``cond`` holds; ``members`` are the per-member fact dicts (for any_member)."""
    keys = set(cond)
    if keys == {"all"}:
        return all(holds(c, facts, members) for c in cond["all"])
    if keys == {"any"}:
        return any(holds(c, facts, members) for c in cond["any"])
    if keys == {"not"}:
        return not holds(cond["not"], facts, members)
    if keys == {"any_member"}:
        return any(holds(cond["any_member"], m) for m in members)
    if keys == {"count_members", "op", "value"}:
        n = sum(1 for m in members if holds(cond["count_members"], m))
        return _compare(n, ALIASES.get(cond["op"], cond["op"]), cond["value"])
    op = ALIASES.get(cond["op"], cond["op"])
    present = cond["fact"] in facts
    if op == "unanswered":
        return not present
    if op == "answered":
        return present
    # A comparison on an unanswered fact is false, whatever the operator.
    return present and _compare(facts[cond["fact"]], op, cond["value"])


# --- members, derived facts, rules --------------------------------------------------------

def _members(spec: Mapping, case: Mapping) -> tuple[dict, ...]:
    me = {"relation": spec["self_relation"], **case.get(spec["self_group"], {})}
    return (me, *(dict(row) for row in case.get(spec["repeat"], [])))


def _derive(derived: list, facts: dict, members: tuple, lists: Mapping) -> None:
    field_of = {c["id"]: c.get("field") for c in lists["concerns"]}
    for d in derived:
        fn = d["fn"]
        if fn == "member_values":
            values: list = []
            for m in members:
                v = m.get(d["field"])
                if v is not None:
                    values += v if isinstance(v, list) else [v]
            value = list(dict.fromkeys(values)) or None
        elif fn == "member_fields":
            present = {field_of[c] for m in members for c in m.get(d["field"], []) if field_of.get(c)}
            value = [f["id"] for f in lists["fields"] if f["id"] in present] or None
        elif fn == "count":
            value = len(facts.get(d["of"], []))
        elif fn in ("max_member", "min_member"):
            have = [m[d["field"]] for m in members if d["field"] in m]
            value = (max(have) if fn == "max_member" else min(have)) if have else None
        elif fn == "any_member":
            value = any(holds(d["where"], m) for m in members)
        elif fn == "count_members":
            value = sum(1 for m in members if holds(d["where"], m))
        elif fn == "condition":
            value = holds(d["when"], facts, members)
        else:
            raise ValueError(f"unknown derived fn {fn!r}")
        if value is not None:
            facts[d["id"]] = value


def _old_contract(fields: list, spec: Mapping, case: Mapping) -> Mapping:
    """README: a top-level ``consent`` is still accepted and means the person's own consent."""
    top = {f["id"] for f in fields}
    if "consent" in top or "consent" not in case:
        return case
    rest = {k: v for k, v in case.items() if k != "consent"}
    if _empty(case["consent"]):
        return rest
    me = dict(rest.get(spec["self_group"]) or {})
    me.setdefault("consent", case["consent"])
    return {**rest, spec["self_group"]: me}


def reference_facts(pack: Mapping, case: Mapping) -> tuple[dict, tuple[dict, ...]]:
    """The case-level facts (derived ones included) and the members, as the rules see them."""
    fields, lists, rules = pack["intake"]["fields"], pack["lists"], pack["rules"]
    case = _old_contract(fields, rules["members"], case)
    clean = _apply_show_if(fields, _clean(fields, case, lists))
    members = _members(rules["members"], clean)
    facts = _flat(fields, clean)
    _derive(rules.get("derived") or [], facts, members, lists)
    return facts, members


def reference_decide(pack: Mapping, case: Mapping) -> dict:
    """Decide ``case`` under the raw pack data from ``load_pack_data``.

    Returns ``programs``, ``agencies``, ``meetings``, ``resources`` (ids, in the order of
    their YAML lists), ``proposed`` (programs proposed but not decided), ``priority`` (id)
    and ``rules`` (fired rule ids, rules.yaml order).
    """
    lists = pack["lists"]
    facts, members = reference_facts(pack, case)
    fired = [r for r in pack["rules"]["rules"] if r.get("enabled", True) and holds(r["when"], facts, members)]
    got: dict[str, set] = {"programs": set(), "agencies": set(), "meetings": set(), "resources": set(), "proposed": set()}
    priorities = lists["priorities"]
    priority = min(priorities, key=lambda p: p["rank"])
    for rule in fired:
        then = rule["then"]
        for key in ("meetings", "resources"):
            got[key].update(then.get(key) or ())
        for item in then.get("programs") or ():
            # {id: x, proposed: true}: a meeting decides whether the program is used
            if isinstance(item, dict):
                got["proposed" if item.get("proposed") else "programs"].add(item["id"])
            else:
                got["programs"].add(item)
        for ref in then.get("agencies") or ():
            if isinstance(ref, str):
                got["agencies"].add(ref)
            elif ref["covering"] in facts:
                area = facts[ref["covering"]]
                got["agencies"].update(a["id"] for a in lists["agencies"]
                                       if a.get("kind") == ref["kind"] and area in (a.get("areas") or ()))
        if then.get("priority"):
            p = next(p for p in priorities if p["id"] == then["priority"])
            if p["rank"] > priority["rank"]:
                priority = p
    got["proposed"] -= got["programs"]
    # A resource's ``for`` names whom it is for; outside that group it is not suggested.
    got["resources"] = {r["id"] for r in lists["resources"]
                        if r["id"] in got["resources"] and (r.get("for") is None or holds(r["for"], facts, members))}
    out = {key: [i["id"] for i in lists["programs" if key == "proposed" else key] if i["id"] in ids] for key, ids in got.items()}
    return {**out, "priority": priority["id"], "rules": [r["id"] for r in fired]}
