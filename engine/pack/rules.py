"""rules.yaml: who counts as a household member, derived facts, and the routing rules."""
from __future__ import annotations

from engine.pack.model import Action, AgencyRef, Derived, Form, Members, Rule
from engine.pack.schema import ID, ID_LIST, LABEL
from engine.rules.conditions import FactInfo, Parser
from engine.yamlio import YamlDoc, join

DERIVED_FNS = ["member_values", "member_fields", "count", "max_member", "min_member",
               "any_member", "count_members", "condition"]
SCHEMA = {
    "members": {"type": "dict", "required": True, "schema": {
        "self_group": {**ID, "required": True}, "self_relation": {**ID, "required": True},
        "repeat": {**ID, "required": True}}},
    "derived": {"type": "list", "schema": {"type": "dict", "schema": {
        "id": {**ID, "required": True}, "label": LABEL,
        "fn": {"type": "string", "required": True, "allowed": DERIVED_FNS},
        "field": ID, "of": ID, "where": {"type": "dict"}, "when": {"type": "dict"}}}},
    "rules": {"type": "list", "required": True, "schema": {"type": "dict", "schema": {
        "id": {**ID, "required": True}, "label": LABEL,
        "enabled": {"type": "boolean"},
        "source": {"type": "string", "empty": False},
        "law": {"type": "string", "empty": False},
        "policy": {"type": "string", "allowed": ["city"]},
        "when": {"type": "dict", "required": True},
        "then": {"type": "dict", "required": True, "schema": {
            "programs": {"type": "list", "schema": {"type": ["string", "dict"]}},
            "meetings": ID_LIST, "resources": ID_LIST,
            "agencies": {"type": "list", "schema": {"type": ["string", "dict"]}},
            "priority": ID,
            "reason": {"type": "string", "required": True, "empty": False}}}}}},
}
_NEEDS = {"member_values": "field", "member_fields": "field", "count": "of", "max_member": "field",
          "min_member": "field", "any_member": "where", "count_members": "where", "condition": "when"}


def member_catalog(intake: Form, members: dict, issues: list, doc: YamlDoc) -> dict[str, FactInfo]:
    """Facts each household member has: the self group's fields and the repeat group's."""
    out: dict[str, FactInfo] = {}
    for key in ("self_group", "repeat"):
        container = intake.field(members[key])
        want = "group" if key == "self_group" else "repeat"
        if container is None or container.type != want:
            issues.append((join("members", key), f"相談受付票に {want} の項目「{members[key]}」がありません",
                           "forms/intake.yaml の項目IDと合わせてください"))
            continue
        for f in container.fields:
            out.setdefault(f.id, FactInfo(f.id, f.label, f.type, f.choices, f.min, f.max))
    out.setdefault("relation", FactInfo("relation", "続柄", "select", "relations"))
    return out


def build_derived(doc: YamlDoc, facts: dict, mfacts: dict, parser: Parser, sizes: dict, issues: list) -> tuple:
    """Derived facts, each added to ``facts`` so later ones (and rules) can use it."""
    out = []
    for i, raw in enumerate(doc.data.get("derived") or []):
        path = f"derived[{i}]"
        fn, need = raw["fn"], _NEEDS[raw["fn"]]
        if need not in raw:
            issues.append((path, f"fn: {fn} には {need} が必要です", ""))
            continue
        if raw["id"] in facts:
            issues.append((join(path, "id"), f"「{raw['id']}」はすでにある項目と同じIDです", "別のIDにしてください"))
            continue
        info = None
        if need == "field":
            src = mfacts.get(raw["field"])
            if src is None:
                from engine.errors import did_you_mean
                issues.append((join(path, "field"), f"世帯員の項目「{raw['field']}」がありません", did_you_mean(raw["field"], mfacts)))
                continue
            if fn == "member_values":
                info = FactInfo(raw["id"], raw["label"], "multiselect", src.choices)
            elif fn == "member_fields":
                info = FactInfo(raw["id"], raw["label"], "multiselect", "fields")
            else:
                info = FactInfo(raw["id"], raw["label"], "integer", None, src.min, src.max)
        elif fn == "count":
            src = facts.get(raw["of"])
            if src is None or src.type != "multiselect":
                issues.append((join(path, "of"), f"「{raw['of']}」は一覧の項目ではありません", "count の of には複数選択の項目を書いてください"))
                continue
            info = FactInfo(raw["id"], raw["label"], "integer", None, 0, sizes.get(src.choices))
        else:
            cond = parser.parse(raw[need], join(path, need), in_member=(need == "where"))
            if cond is None:
                continue
            kind = "integer" if fn == "count_members" else "boolean"
            info = FactInfo(raw["id"], raw["label"], kind, None, 0 if kind == "integer" else None)
            raw = {**raw, need: cond}
        facts[raw["id"]] = info
        out.append(Derived(raw["id"], raw["label"], fn, info.type, raw.get("field"), raw.get("of"),
                           raw.get("where"), raw.get("when")))
    return tuple(out)


def build_rules(doc: YamlDoc, parser: Parser, issues: list) -> tuple[Rule, ...]:
    out = []
    seen: set[str] = set()
    for i, raw in enumerate(doc.data["rules"]):
        path = f"rules[{i}]"
        if raw["id"] in seen:
            issues.append((join(path, "id"), f"ルールID「{raw['id']}」が重複しています", "別のIDにしてください"))
        seen.add(raw["id"])
        cond = parser.parse(raw["when"], join(path, "when"))
        then = raw["then"]
        refs = []
        for j, a in enumerate(then.get("agencies") or []):
            if isinstance(a, str):
                refs.append(AgencyRef(id=a))
            elif set(a) == {"kind", "covering"}:
                refs.append(AgencyRef(kind=a["kind"], covering=a["covering"]))
            else:
                issues.append((f"{path}.then.agencies[{j}]", "機関は ID か {kind: 種別, covering: area} で書いてください", ""))
        if not any(then.get(k) for k in ("programs", "agencies", "meetings", "priority", "resources")) and not then.get("reason"):
            issues.append((join(path, "then"), "ルールが何もしません", "programs・agencies・meetings・priority のどれかを書いてください"))
        if sum(bool(raw.get(k)) for k in ("source", "law", "policy")) > 1:
            issues.append((path, "source（出典の引用）・law（法令）・policy（市の方針）はどれか1つだけ書いてください",
                           "出典の言葉に従うなら source、法律が求めることなら law、市が決めたことなら policy: city"))
        decided, proposed = split_programs(then.get("programs"), f"{path}.then.programs", issues)
        if cond is None:
            continue
        action = Action(decided, tuple(refs), tuple(then.get("meetings") or ()),
                        then.get("priority"), tuple(then.get("resources") or ()), then["reason"], proposed)
        out.append(Rule(raw["id"], raw["label"], cond, action, raw.get("enabled", True),
                        str(raw.get("source") or ""), "" if raw.get("source") or raw.get("law") else "city",
                        str(raw.get("law") or "")))
    return tuple(out)


def program_id(item) -> str | None:
    """The id of a ``then.programs`` entry: ``participation`` or ``{id: participation, proposed: true}``."""
    return item if isinstance(item, str) else item.get("id") if isinstance(item, dict) else None


def split_programs(items, key: str, issues: list) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(decided, proposed) program ids; a proposed one is for a meeting to decide (参加支援).

    >>> split_programs(["comprehensive", {"id": "participation", "proposed": True}], "p", [])
    (('comprehensive',), ('participation',))
    >>> issues = []; _ = split_programs(["outreach", {"id": "outreach", "proposed": True}], "p", issues); issues[0][1]
    '事業「outreach」が重複しています'
    """
    decided, proposed = [], []
    for j, item in enumerate(items or ()):
        if isinstance(item, str):
            decided.append(item)
        elif isinstance(item, dict) and set(item) <= {"id", "proposed"} and isinstance(item.get("id"), str) \
                and isinstance(item.get("proposed", False), bool):
            (proposed if item.get("proposed") else decided).append(item["id"])
        else:
            issues.append((f"{key}[{j}]", "事業は ID か {id: 事業ID, proposed: true} で書いてください",
                           "proposed: true は「会議で利用の適否を協議する提案」です"))
            continue
        if (decided + proposed).count(program_id(item)) > 1:
            issues.append((f"{key}[{j}]", f"事業「{program_id(item)}」が重複しています",
                           "1つのルールで同じ事業は1回だけ書いてください（決める事業か提案か、どちらか）"))
    return tuple(decided), tuple(proposed)


def members_of(doc: YamlDoc) -> Members:
    m = doc.data["members"]
    return Members(m["self_group"], m["self_relation"], m["repeat"])
