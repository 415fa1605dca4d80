"""What removing or renaming a form field or a list entry would do, said before it is done.

Stored cases keep their values under the ids they were recorded with; a change to the
forms or the lists never rewrites them. What a change *can* break is the configuration
that names the id (rules, derived facts, ``show_if``, other lists, scenarios), so those
are found first and block the change with a Japanese explanation. The edit helpers at the
end change form and list files in place, keeping comments (see ``engine.changes.editing``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import yaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from engine.changes.editing import EditError, edit_yaml, flowed
from engine.pack.model import Form, FormField, Pack

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
TYPE_LABELS = {"text": "文字（1行）", "textarea": "文字（複数行）", "integer": "整数", "date": "日付", "boolean": "はい／いいえ",
               "select": "選択（1つ）", "multiselect": "選択（複数）", "group": "まとまり", "repeat": "繰り返し"}
LIST_LABELS = {"fields": "分野", "concerns": "相談内容", "channels": "相談経路", "consent": "本人同意", "relations": "続柄",
               "priorities": "優先度", "meeting_outcomes": "会議の結果", "divisions": "課", "areas": "日常生活圏域",
               "school_districts": "小学校区", "agencies": "支援機関", "programs": "事業", "resources": "地域資源",
               "meetings": "会議", "statuses": "ケースの状態"}
OP_LABELS = {"=": "が次と同じ", "!=": "が次と違う", "<": "が次より小さい", "<=": "が次以下", ">": "が次より大きい",
             ">=": "が次以上", "in": "が次のどれか", "not_in": "が次のどれでもない", "contains": "に次を含む",
             "not_contains": "に次を含まない", "answered": "が回答済み", "unanswered": "が未回答"}
# Fields the application's own code reads: removing them would break it.
SYSTEM_FIELDS = {("meeting_record", f): "会議記録をケースに書き戻す処理（会議・開催日・結果）" for f in ("meeting", "held_on", "outcome")}
# Fields lists and reports read: removing them empties those columns for new cases.
SHOWN_BY_APP = {("intake", "received_on"): "ケース一覧の受付日", ("intake", "area"): "ケース一覧・ダッシュボードの圏域",
                ("intake", "channel"): "ダッシュボードの相談経路", ("intake", "resident"): "ケース一覧の「市外」表示",
                ("intake", "person.name"): "ケース一覧の氏名・検索", ("intake", "person.kana"): "ケース一覧の検索",
                ("plan", "made_on"): "ダッシュボードのプラン作成日"}
_RECORDS = {"intake": lambda c: [c.get("intake")], "plan": lambda c: [c.get("plan")],
            "meeting_record": lambda c: list(c.get("meetings_done") or [])}


def walk_fields(fields: Iterable[FormField], parent: str = "") -> list[tuple[str, FormField]]:
    """(dotted path, field) for every field, children right after their container.

    >>> group = FormField("person", "group", "本人", fields=(FormField("age", "integer", "年齢"),))
    >>> [p for p, _ in walk_fields([group, FormField("summary", "textarea", "概要")])]
    ['person', 'person.age', 'summary']
    """
    out = []
    for f in fields:
        path = f"{parent}.{f.id}" if parent else f.id
        out.append((path, f))
        out += walk_fields(f.fields, path)
    return out


def find_field(form: Form, path: str) -> FormField | None:
    return dict(walk_fields(form.fields)).get(path)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _found(value: Any, parts: list[str], test: Callable[[Any], bool]) -> bool:
    """Does ``test`` hold for the value at ``parts`` (through groups and every repeat row)?"""
    if isinstance(value, list) and parts:
        return any(_found(v, parts, test) for v in value)
    if not parts:
        return bool(test(value))
    return isinstance(value, Mapping) and _found(value.get(parts[0]), parts[1:], test)


def _read(stored_cases: Any, view: Callable[[list], Any]) -> Any:
    """``stored_cases`` is a repository (read without copying) or a plain list of cases."""
    if hasattr(stored_cases, "read_cases"):
        return stored_cases.read_cases(view)
    return view(list(stored_cases or ()))


def _raw(pack: Pack, name: str) -> dict:
    return yaml.safe_load(pack.sources.get(name, "")) or {}


def _conds(raw: Any, member: bool = False) -> Iterable[tuple[str, bool, list]]:
    """(fact, is a member fact, compared values) for every comparison in a raw condition."""
    if not isinstance(raw, Mapping):
        return
    if "fact" in raw:
        value = raw.get("value")
        yield str(raw["fact"]), member, list(value) if isinstance(value, list) else [] if value is None else [value]
        return
    for key in ("all", "any"):
        for c in raw.get(key) or ():
            yield from _conds(c, member)
    yield from _conds(raw.get("not"), member)
    yield from _conds(raw.get("any_member"), True)
    yield from _conds(raw.get("count_members"), True)


def _rule_users(rules_raw: Mapping) -> list[tuple[str, str, set[str]]]:
    """(kind, id, keys) for derived facts and rules; keys are case facts, member facts as ``m:x``."""
    out = []
    for d in rules_raw.get("derived") or ():
        keys = {f"m:{d['field']}"} if d.get("field") else set()
        keys |= {d["of"]} if d.get("of") else set()
        for cond, member in ((d.get("where"), True), (d.get("when"), False)):
            keys |= {("m:" if m else "") + f for f, m, _ in _conds(cond, member)}
        out.append(("derived", d["id"], keys))
    for r in rules_raw.get("rules") or ():
        keys = {("m:" if m else "") + f for f, m, _ in _conds(r.get("when"))}
        keys |= {a["covering"] for a in (r.get("then") or {}).get("agencies") or () if isinstance(a, Mapping) and a.get("covering")}
        out.append(("rule", r["id"], keys))
    return out


def _fact_keys(pack: Pack, form: Form, path: str) -> set[str]:
    """The fact names a field is known by in conditions (``person.age``, member ``m:age``)."""
    f = find_field(form, path)
    if f is None:
        return set()
    if f.is_container:
        return set().union(*(_fact_keys(pack, form, f"{path}.{c.id}") for c in f.fields))
    parts = path.split(".")
    if len(parts) == 1:
        return {path}
    container = form.field(parts[0])
    keys = {path} if container is not None and container.type == "group" else set()
    if form.id == "intake" and parts[0] in (pack.members.self_group, pack.members.repeat):
        keys.add(f"m:{parts[1]}")
    return keys


@dataclass(frozen=True)
class FieldChange:
    """What removing (``new_id`` None) or renaming a field does; ``blocked`` when config names it."""

    form_id: str
    path: str
    new_id: str | None
    cases: int
    problems: tuple[str, ...]          # sentences: why it cannot be done yet
    notes: tuple[str, ...]             # sentences: what happens

    @property
    def blocked(self) -> bool:
        return bool(self.problems)

    @property
    def text(self) -> str:
        return "".join(self.notes + self.problems)


def field_change(pack: Pack, form_id: str, old_id: str, new_id: str | None, stored_cases: Any) -> FieldChange:
    """Examine removing or renaming field ``old_id`` (dotted for a child: ``person.kana``)."""
    form = pack.forms[form_id]
    field = find_field(form, old_id)
    if field is None:
        return FieldChange(form_id, old_id, new_id, 0, (f"項目「{old_id}」はフォームにありません。画面を開き直してください。",), ())
    parts = old_id.split(".")
    verb = "削除" if new_id is None else "IDの変更"
    problems: list[str] = []
    if new_id is not None:
        siblings = form.fields if len(parts) == 1 else find_field(form, ".".join(parts[:-1])).fields
        if not ID_RE.match(new_id):
            problems.append(f"新しいID「{new_id}」は使えません。半角英小文字で始め、英小文字・数字・_ だけで書いてください。")
        elif any(s.id == new_id for s in siblings):
            problems.append(f"ID「{new_id}」はすでにこのフォームにあります。別のIDにしてください。")
    keys = _fact_keys(pack, form, old_id)
    if form_id == "intake":
        users = _rule_users(_raw(pack, "rules.yaml"))
        derived: list[str] = []
        for kind, i, k in users:                 # in file order: a derived fact may use earlier ones
            if kind == "derived" and k & (keys | set(derived)):
                derived.append(i)
        rules = [i for kind, i, k in users if kind == "rule" and k & (keys | set(derived))]
        if rules:
            problems.append(f"振り分けルール{_names(pack, rules)}がこの項目を使っているため、先にルールを直してください。")
        if derived:
            problems.append(f"派生項目{_names(pack, derived)}がこの項目を使っているため、先に派生項目を直してください。")
        if old_id in (pack.members.self_group, pack.members.repeat):
            problems.append("ルールの設定の世帯員の一覧がこの項目を使っているため、" + verb + "できません。")
    inside = {p for p, _ in walk_fields([field], ".".join(parts[:-1]))}
    shown_by = [f.label for p, f in walk_fields(form.fields) if p not in inside and f.show_if is not None
                and any(k in keys for k, _, _ in _conds(_raw_show_if(pack, form_id, p)))]
    if shown_by:
        problems.append(f"項目「{'」「'.join(shown_by)}」の表示条件がこの項目を使っているため、先に表示条件を直してください。")
    if (form_id, old_id) in SYSTEM_FIELDS:
        problems.append(f"この項目は{SYSTEM_FIELDS[(form_id, old_id)]}が使うため、{verb}できません。")
    records = _RECORDS.get(form_id, lambda c: [c.get(form_id)])
    cases = _read(stored_cases, lambda cs: sum(any(_found(r, parts, lambda v: not _empty(v)) for r in records(c)) for c in cs))
    return FieldChange(form_id, old_id, new_id, cases, tuple(problems), tuple(_notes(form_id, old_id, new_id, cases)))


def _notes(form_id: str, old_id: str, new_id: str | None, cases: int) -> list[str]:
    where = ("ケースに残り、ケース詳細の『現在のフォームにない項目』に表示されます" if form_id == "intake" and "." not in old_id
             else "ケースの記録に残りますが、画面には表示されなくなります")
    if form_id == "meeting_record":
        notes = ["会議記録はケースの経過に記録されていて、項目を変えても過去の記録はそのまま残ります。"]
    elif not cases:
        notes = ["この項目に値のあるケースはありません。"]
    elif new_id is None:
        notes = [f"この項目は {cases} 件のケースに値があります。削除しても値は{where}。"]
    else:
        notes = [f"これまでの {cases} 件の値は古いID「{old_id}」のまま（新しい項目には引き継がれず）{where}。"]
    if new_id is not None:
        notes.insert(0, f"IDを「{old_id}」から「{new_id}」に変えるのは、新しい項目を作るのと同じです。")
        notes.append("名前を変えたいだけなら、表示名の変更が安全です。")
    if cases and form_id == "intake":
        notes.append("なお、そのケースで「再判定」をすると、フォームにない項目は受付内容から外れます。")
    if (form_id, old_id) in SHOWN_BY_APP:
        notes.append(f"この項目は{SHOWN_BY_APP[(form_id, old_id)]}に使われています。新しいケースでは空欄になります。")
    return notes


def _raw_show_if(pack: Pack, form_id: str, path: str) -> Any:
    node: Any = {"fields": _raw(pack, f"forms/{form_id}.yaml").get("fields") or []}
    for part in path.split("."):
        node = next((f for f in node.get("fields") or () if f.get("id") == part), {})
    return node.get("show_if")


def field_change_notice(pack: Pack, form_id: str, old_id: str, new_id: str | None, stored_cases: Any) -> str:
    """Japanese: how many cases hold a value, what happens to it, and what blocks the change."""
    return field_change(pack, form_id, old_id, new_id, stored_cases).text


# -- list entries (vocabularies, roster) ---------------------------------------------------
# Other lists that name entries of a list: list name → (file, list key, attribute, what it is in Japanese).
_LIST_REFS = {
    "concerns": [("resources.yaml", "resources", "needs", "地域資源が応える相談内容")],
    "fields": [("vocabularies.yaml", "concerns", "field", "相談内容の分野"), ("roster.yaml", "agencies", "field", "支援機関の分野")],
    "areas": [("roster.yaml", "school_districts", "area", "小学校区の圏域"), ("roster.yaml", "agencies", "areas", "支援機関の担当圏域"),
              ("resources.yaml", "resources", "areas", "地域資源の利用できる圏域")],
    "divisions": [("roster.yaml", "agencies", "division", "支援機関の担当課"), ("programs.yaml", "programs", "division", "事業の担当課"),
                  ("meetings.yaml", "meetings", "member_divisions", "会議の構成課"),
                  ("resources.yaml", "resources", "owner", "地域資源の問い合わせ先")],
    "agencies": [("meetings.yaml", "meetings", "members", "会議の構成機関"), ("roster.yaml", "agencies", "stationed_at", "機関の配置先"),
                 ("resources.yaml", "resources", "owner", "地域資源の問い合わせ先")],
}
_THEN = {"programs": "programs", "meetings": "meetings", "resources": "resources", "agencies": "agencies", "priority": "priorities"}


def _name_of(pack: Pack, rule_or_fact: str) -> str:
    """A rule or a derived fact by its Japanese name (「2分野以上 → 多機関協働事業」), never its id."""
    rule = next((r.label for r in pack.rules if r.id == rule_or_fact), None)
    return rule or getattr(pack.facts.get(rule_or_fact), "label", None) or rule_or_fact


def _names(pack: Pack, ids: Iterable[str]) -> str:
    return "".join(f"「{_name_of(pack, i)}」" for i in ids)


def _ids_in(value: Any) -> list:
    """Ids in a value: one id, a list of ids, or entries like ``{id: participation, proposed: true}``."""
    if isinstance(value, (list, tuple)):
        return [str(v.get("id")) if isinstance(v, Mapping) else str(v) for v in value]
    return [] if value is None else [str(value)]


def _named(names: list[str], most: int = 3) -> str:
    shown = "、".join(f"「{n}」" for n in names[:most])
    return shown + (f"ほか {len(names) - most} 件" if len(names) > most else "")


@dataclass(frozen=True)
class ChoiceUsage:
    """Where a list entry is used; removing it is blocked while anything uses it."""

    item_id: str                       # the entry's 表示名 (staff never see its id)
    cases: int
    references: tuple[str, ...]        # Japanese, one per place

    @property
    def blocked(self) -> bool:
        return bool(self.cases or self.references)

    @property
    def text(self) -> str:
        if not self.blocked:
            return f"「{self.item_id}」はケースにも設定にも使われていません。削除できます。"
        out = [f"「{self.item_id}」は削除できません。"]
        if self.cases:
            out.append(f"{self.cases} 件のケースがこの選択肢を使っています（削除すると表示が「不明なID」になり、再判定もできなくなります）。")
        if self.references:
            out.append("次の設定がこの選択肢を使っています。" + "。".join(self.references) + "。先にそちらを直してください。")
        return "".join(out) + "表示名の変更はいつでもできます。"


def choice_usage(pack: Pack, list_name: str, item_id: str, stored_cases: Any) -> ChoiceUsage:
    """Stored cases and configuration (rules, show_if, other lists, scenarios) naming ``item_id``."""
    found: dict[str, list[str]] = {}
    rules_raw = _raw(pack, "rules.yaml")
    label = next((c.label for c in pack.choices(list_name) if c.id == item_id), item_id)

    def uses(catalog: Mapping, cond: Any, member: bool = False) -> bool:
        return any(getattr((pack.member_facts if m else catalog).get(fact), "choices", None) == list_name
                   and item_id in _ids_in(values) for fact, m, values in _conds(cond, member))
    for d in rules_raw.get("derived") or ():
        if uses(pack.facts, d.get("when")) or uses(pack.facts, d.get("where"), True):
            found.setdefault("派生項目", []).append(_name_of(pack, d["id"]))
    for r in rules_raw.get("rules") or ():
        then = r.get("then") or {}
        if uses(pack.facts, r.get("when")) or any(
                list_name == lst and item_id in _ids_in(then.get(key)) for key, lst in _THEN.items()):
            found.setdefault("振り分けルール", []).append(_name_of(pack, r["id"]))
    for form_id, form in pack.forms.items():
        catalog = dict(walk_fields(form.fields))
        for path, f in walk_fields(form.fields):
            if f.show_if is not None and uses(catalog, _raw_show_if(pack, form_id, path)):
                found.setdefault(f"{form.label}の表示条件", []).append(f.label)
    for file, key, attr, words in _LIST_REFS.get(list_name, ()):
        for item in _raw(pack, file).get(key) or ():
            if item_id in _ids_in(item.get(attr)):
                found.setdefault(words, []).append(str(item.get("label", item.get("id"))))
    if list_name == "meeting_outcomes" and item_id in (_raw(pack, "lifecycle.yaml").get("on_outcome") or {}):
        found.setdefault("会議の結果で移る状態", []).append(label)
    if list_name == "relations" and (rules_raw.get("members") or {}).get("self_relation") == item_id:
        found.setdefault("ルールの設定（本人の続柄）", []).append(label)
    paths = [(form_id, p.split(".")) for form_id in ("intake", "plan") for p, f in walk_fields(pack.forms[form_id].fields)
             if f.choices == list_name]
    done_key = {"meeting_outcomes": "outcome", "meetings": "meeting"}.get(list_name)

    def hit(case: Mapping, accepted: set[str]) -> bool:
        return any(_found(case.get(form_id), parts, lambda v: accepted & set(_ids_in(v))) for form_id, parts in paths) or bool(
            done_key and any(d.get(done_key) in accepted for d in case.get("meetings_done") or ()))
    expect_key = next((k for k, lst in _THEN.items() if lst == list_name), None)
    for name in sorted(n for n in pack.sources if n.startswith("scenarios/")):
        raw = yaml.safe_load(pack.sources[name]) or {}
        expect = raw.get("expect") or {}
        if hit({"intake": raw.get("case") or {}}, {item_id, label}) or expect_key and any(
                item_id in _ids_in(e.get(expect_key)) for e in (expect, expect.get("not") or {})):
            found.setdefault("シナリオ", []).append(str(raw.get("name", name)))
    cases = _read(stored_cases, lambda cs: sum(1 for c in cs if hit(c, {item_id})))
    return ChoiceUsage(label, cases, tuple(f"{where}: {_named(names)}" for where, names in found.items()))


# -- edits, in place (comments and styles kept) ---------------------------------------------
def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    return node


def _update(node: CommentedMap, values: Mapping[str, Any]) -> None:
    """Set keys (None deletes); nested maps and lists change in place, keeping flow or block style."""
    for key, value in values.items():
        if value is None:
            node.pop(key, None)
        elif key in node and _plain(node[key]) == _plain(value):
            continue
        elif isinstance(value, Mapping) and isinstance(node.get(key), CommentedMap):
            _update(node[key], {**{k: None for k in node[key] if k not in value}, **value})
        elif isinstance(value, (list, tuple)) and isinstance(node.get(key), CommentedSeq):
            del node[key][:]
            node[key].extend(flowed(v) for v in value)
        else:
            node[key] = flowed({k: v for k, v in value.items() if v is not None} if isinstance(value, Mapping) else value)


def update_item(text: str, list_key: str, item_id: str, values: Mapping[str, Any]) -> str:
    """Change some keys of one entry of a list (a meeting, an agency, a vocabulary entry)."""
    def mutate(doc: Any) -> None:
        for item in doc.get(list_key) or ():
            if item.get("id") == item_id:
                return _update(item, values)
        raise EditError(f"「{item_id}」は {list_key} にありません。画面を開き直してください。")
    return edit_yaml(text, mutate)


def _at(text: str, path: str, change: Callable[[CommentedSeq, int], Any]) -> str:
    """Apply ``change(siblings, index)`` to the form field at dotted ``path``."""
    def mutate(doc: Any) -> None:
        seq, parts = doc["fields"], path.split(".")
        for depth, part in enumerate(parts):
            index = next((i for i, f in enumerate(seq) if f.get("id") == part), None)
            if index is None:
                raise EditError(f"項目「{path}」はフォームにありません。画面を開き直してください。")
            if depth == len(parts) - 1:
                change(seq, index)
            else:
                seq = seq[index].setdefault("fields", CommentedSeq())
    return edit_yaml(text, mutate)


def set_field_keys(text: str, path: str, values: Mapping[str, Any]) -> str:
    """Change keys of the form field at ``path`` (None deletes a key)."""
    return _at(text, path, lambda seq, i: _update(seq[i], values))


def remove_field(text: str, path: str) -> str:
    return _at(text, path, lambda seq, i: seq.pop(i))


def move_field(text: str, path: str, delta: int) -> str:
    """Move a field up (-1) or down (+1) among its siblings; at either end it stays."""
    return _at(text, path, lambda seq, i: seq.insert(max(0, min(len(seq) - 1, i + delta)), seq.pop(i)))


def add_field(text: str, parent: str | None, item: Mapping[str, Any]) -> str:
    """Append a field to the form, or to the group/repeat ``parent``."""
    node = {k: v for k, v in item.items() if v is not None and v != ""}
    if parent:
        return _at(text, parent, lambda seq, i: seq[i].setdefault("fields", CommentedSeq()).append(flowed(node)))
    return edit_yaml(text, lambda doc: doc["fields"].append(flowed(node)))
