"""References between files, checked once every file is valid on its own."""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from engine.errors import ConfigIssue, did_you_mean
from engine.pack.meetings import cadence_issues
from engine.pack.model import Choice
from engine.yamlio import YamlDoc
from engine.pack.rules import program_id

Lists = Mapping[str, tuple[Choice, ...]]


class RefChecker:
    """Collects issues for ids that name nothing, with もしかして."""

    def __init__(self, lists: Lists):
        self.lists = lists
        self.issues: list[ConfigIssue] = []

    def ids(self, name: str) -> tuple[str, ...]:
        return tuple(c.id for c in self.lists.get(name, ()))

    def add(self, doc: YamlDoc, key: str, message: str, hint: str = "") -> None:
        self.issues.append(ConfigIssue(doc.file, key, message, doc.line(key), hint))

    def ref(self, doc: YamlDoc, key: str, value: str | None, *names: str, what: str = "") -> None:
        if value is None:
            return
        valid = [i for n in names for i in self.ids(n)]
        if value not in valid:
            self.add(doc, key, f"{what or names[0]}に「{value}」はありません", did_you_mean(value, valid))

    def refs(self, doc: YamlDoc, key: str, values: Iterable[str] | None, *names: str, what: str = "") -> None:
        for i, v in enumerate(values or ()):
            self.ref(doc, f"{key}[{i}]", v, *names, what=what)

def check_references(docs: Mapping[str, YamlDoc], lists: Lists, choice_names: Callable[[], Iterable[str]]) -> list[ConfigIssue]:
    r = RefChecker(lists)
    vocab, roster, programs = docs["vocabularies.yaml"], docs["roster.yaml"], docs["programs.yaml"]
    resources, meetings, lifecycle = docs["resources.yaml"], docs["meetings.yaml"], docs["lifecycle.yaml"]
    for name in sorted(docs):
        if name != "rules.yaml" and not name.startswith("forms/"):     # those two check their own ids
            for key, dup in duplicate_ids(docs[name].data):
                r.add(docs[name], key, f"ID「{dup}」が重複しています", "別のIDにしてください")
    for i, c in enumerate(lists["concerns"]):
        r.ref(vocab, f"concerns[{i}].field", c.get("field"), "fields", what="分野（fields）")
    for i, c in enumerate(lists["school_districts"]):
        r.ref(roster, f"school_districts[{i}].area", c.get("area"), "areas", what="日常生活圏域（areas）")
    for i, a in enumerate(lists["agencies"]):
        key = f"agencies[{i}]"
        r.ref(roster, f"{key}.program", a.get("program"), "programs", what="事業（programs.yaml）")
        r.ref(roster, f"{key}.field", a.get("field"), "fields", what="分野（vocabularies.yaml fields）")
        r.ref(roster, f"{key}.division", a.get("division"), "divisions", what="課（divisions）")
        r.refs(roster, f"{key}.areas", a.get("areas"), "areas", what="日常生活圏域（areas）")
        r.ref(roster, f"{key}.stationed_at", a.get("stationed_at"), "agencies", what="機関（agencies）")
    for i, p in enumerate(lists["programs"]):
        r.ref(programs, f"programs[{i}].division", p.get("division"), "divisions", what="課（roster.yaml divisions）")
        for field, division in (p.get("field_divisions") or {}).items():
            r.ref(programs, f"programs[{i}].field_divisions.{field}", field, "fields", what="分野（vocabularies.yaml fields）")
            r.ref(programs, f"programs[{i}].field_divisions.{field}", division, "divisions", what="課（roster.yaml divisions）")
    for i, res in enumerate(lists["resources"]):
        key = f"resources[{i}]"
        r.ref(resources, f"{key}.program", res.get("program"), "programs", what="事業（programs.yaml）")
        r.refs(resources, f"{key}.needs", res.get("needs"), "concerns", what="相談内容（concerns）")
        r.refs(resources, f"{key}.areas", res.get("areas"), "areas", what="日常生活圏域（areas）")
        r.ref(resources, f"{key}.owner", res.get("owner"), "agencies", "divisions", what="機関・課")
        r.ref(resources, f"{key}.parent", res.get("parent"), "resources", what="地域資源")
    for i, m in enumerate(lists["meetings"]):
        key = f"meetings[{i}]"
        r.ref(meetings, f"{key}.program", m.get("program"), "programs", what="事業（programs.yaml）")
        r.refs(meetings, f"{key}.members", m.get("members"), "agencies", what="機関（roster.yaml agencies）")
        r.refs(meetings, f"{key}.member_divisions", m.get("member_divisions"), "divisions", what="課（divisions）")
        for sub, message, hint in cadence_issues(dict(m.get("cadence") or {})):
            r.add(meetings, f"{key}.cadence.{sub}", message, hint)
    statuses = r.ids("statuses")
    r.ref(lifecycle, "initial", lifecycle.data["initial"], "statuses", what="状態（statuses）")
    for i, s in enumerate(lists["statuses"]):
        r.refs(lifecycle, f"statuses[{i}].next", s.get("next"), "statuses", what="状態（statuses）")
        if not s.get("next") and not s.get("final"):
            r.add(lifecycle, f"statuses[{i}]", f"状態「{s.label}」から移れる先がありません",
                  "next を書くか、終わりの状態なら final: true を書いてください")
    kinds = sorted({str(a.get("kind")) for a in lists["agencies"]})
    for kind in ((lifecycle.data.get("referrals") or {}).get("accept_within") or {}).get("by_kind") or {}:
        if kind not in kinds:
            r.add(lifecycle, f"referrals.accept_within.by_kind.{kind}", f"機関の種別（roster.yaml agencies[].kind）に「{kind}」はありません",
                  did_you_mean(kind, kinds))
    for outcome, status in (lifecycle.data.get("on_outcome") or {}).items():
        r.ref(lifecycle, f"on_outcome.{outcome}", outcome, "meeting_outcomes", what="会議の結果（meeting_outcomes）")
        if status not in statuses:
            r.add(lifecycle, f"on_outcome.{outcome}", f"状態（statuses）に「{status}」はありません", did_you_mean(status, statuses))
    _check_reach(r, lifecycle, lists["statuses"])
    return r.issues


def duplicate_ids(data: object, path: str = "") -> Iterable[tuple[str, str]]:
    """(key path, id) of every entry whose ``id`` an earlier entry of the same list already has.

    Walks the whole document, so every kind of list (roles, agencies, meetings, a vocabulary a
    later feature adds) is covered without naming it here.

    >>> list(duplicate_ids({"roles": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}))
    [('roles[2].id', 'a')]
    """
    if isinstance(data, dict):
        for key, value in data.items():
            yield from duplicate_ids(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        seen: set = set()
        for i, item in enumerate(data):
            if isinstance(item, dict) and isinstance(item.get("id"), (str, int)):
                if item["id"] in seen:
                    yield f"{path}[{i}].id", str(item["id"])
                seen.add(item["id"])
            yield from duplicate_ids(item, f"{path}[{i}]")


def _check_reach(r: RefChecker, doc: YamlDoc, statuses: tuple[Choice, ...]) -> None:
    """Every status can be reached from ``initial``, and a final status can be reached at all.

    A meeting outcome (``on_outcome``) moves a case too, from any status, so its targets count
    as reachable.
    """
    known = {s.id: s for s in statuses}
    if doc.data["initial"] not in known:
        return                                  # reported as an unknown id already
    start = [doc.data["initial"], *((doc.data.get("on_outcome") or {}).values())]
    reached, todo = set(), [s for s in start if s in known]
    while todo:
        sid = todo.pop()
        if sid not in reached:
            reached.add(sid)
            todo += [n for n in known[sid].get("next") or () if n in known]
    if not any(known[s].get("final") for s in reached):
        r.add(doc, "statuses", "受付から終わりの状態（final: true）にたどり着けません",
              "どこかの状態の next から final: true の状態へ移れるようにしてください")
    for i, s in enumerate(statuses):
        if s.id not in reached:
            r.add(doc, f"statuses[{i}]", f"状態「{s.label}」には、受付（initial）からどうたどっても移れません",
                  "ほかの状態の next に加えるか、使わないなら消してください")


def check_rule_refs(doc: YamlDoc, rules_raw: list, lists: Lists, select_facts: Mapping[str, str]) -> list[ConfigIssue]:
    """Ids named by rule actions; ``select_facts`` maps a select fact to its choice list."""
    r = RefChecker(lists)
    if not any(raw.get("enabled", True) for raw in rules_raw):
        r.add(doc, "rules", "有効なルールが 1 件もありません（すべての相談が、どこにもつながらなくなります）",
              "ルールを書くか、enabled: false を外してください")
    kinds = sorted({a.get("kind") for a in lists["agencies"]})
    for i, raw in enumerate(rules_raw):
        then, key = raw.get("then") or {}, f"rules[{i}].then"
        for j, item in enumerate(then.get("programs") or ()):
            if isinstance(item, (str, dict)) and program_id(item) is not None:
                r.ref(doc, f"{key}.programs[{j}]", program_id(item), "programs", what="事業（programs.yaml）")
        r.refs(doc, f"{key}.meetings", then.get("meetings"), "meetings", what="会議（meetings.yaml）")
        r.refs(doc, f"{key}.resources", then.get("resources"), "resources", what="地域資源（resources.yaml）")
        r.ref(doc, f"{key}.priority", then.get("priority"), "priorities", what="優先度（priorities）")
        for j, a in enumerate(then.get("agencies") or ()):
            if isinstance(a, str):
                r.ref(doc, f"{key}.agencies[{j}]", a, "agencies", what="機関（roster.yaml agencies）")
            elif isinstance(a, dict):
                if a.get("kind") not in kinds:
                    r.add(doc, f"{key}.agencies[{j}].kind", f"機関の種別に「{a.get('kind')}」はありません", did_you_mean(str(a.get("kind")), kinds))
                if select_facts.get(a.get("covering")) != "areas":
                    r.add(doc, f"{key}.agencies[{j}].covering", f"「{a.get('covering')}」は圏域を選ぶ項目ではありません",
                          "covering には相談受付票の圏域の項目ID（例: area）を書いてください")
    return r.issues
