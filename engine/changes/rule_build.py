"""The structured rule editor's model: a rule as rows a form can show, and back.

The 設定 > ルール page edits a rule's condition as a flat list of rows joined by
すべて (all) or いずれか (any). A row tests one fact of the case, or what household
members satisfy (one or more member tests, all on the same member). Anything deeper
(an ``any`` inside an ``all``, a ``not`` around a group) cannot be shown as rows without
changing its meaning, so :func:`from_rule` refuses it with :class:`Unsupported` and the
page sends the editor to the raw YAML instead of mangling the rule.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from engine.changes.editing import EditError, edit_yaml, flowed
from engine.errors import ConfigIssue, TsunaguError
from engine.pack.model import Action, AgencyRef, Pack, Rule
from engine.rules.conditions import ALIASES, OPS_BY_TYPE, PRESENCE_OPS, FactInfo, Parser
from engine.yamlio import YamlDoc
from engine.pack.rules import split_programs

OP_LABELS = {
    "=": "である", "!=": "ではない", "<": "未満", "<=": "以下", ">": "より大きい", ">=": "以上",
    "in": "のいずれか", "not_in": "のいずれでもない", "contains": "を含む", "not_contains": "を含まない",
    "unanswered": "未回答", "answered": "回答あり",
}
SCOPES = {"fact": "相談の項目", "any_member": "世帯員のだれか", "count_members": "世帯員の人数"}
COMBINE = {"all": "すべて", "any": "いずれか"}
COUNT_OPS = ("=", "!=", "<", "<=", ">", ">=")
LIST_OPS = ("in", "not_in")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
TO_RAW = "「上級（YAML）」タブで編集してください。"


class Unsupported(TsunaguError):
    """A rule the row builder cannot show without changing what it means."""


@dataclass(frozen=True)
class Comparison:
    """One comparison: ``fact op value`` (no value for 未回答 / 回答あり)."""

    fact: str | None
    op: str | None
    value: Any = None


@dataclass(frozen=True)
class Row:
    """One condition row; member scopes hold tests that the same member must all meet."""

    scope: str = "fact"                  # fact | any_member | count_members
    tests: tuple[Comparison, ...] = (Comparison(None, None),)
    negate: bool = False
    count_op: str = ">="                 # count_members only
    count: int = 1


@dataclass(frozen=True)
class RuleForm:
    """Everything the editor shows for one rule."""

    id: str = ""
    label: str = ""
    combine: str = "all"
    rows: tuple[Row, ...] = ()
    programs: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()       # fixed agency ids
    kinds: tuple[str, ...] = ()          # agency kinds chosen by the case's area
    meetings: tuple[str, ...] = ()
    priority: str | None = None
    resources: tuple[str, ...] = ()
    reason: str = ""
    enabled: bool | None = None          # None: the file does not say (enabled)
    proposed: tuple[str, ...] = ()       # programs proposed for 重層的支援会議 to decide (参加支援)
    source: str = ""                     # a quote of the source
    law: str = ""                        # the law that requires it; neither: the city's policy


def op_label(op: str) -> str:
    """Japanese name of an operator.

    >>> op_label(">="), op_label("not_contains")
    ('以上', 'を含まない')
    """
    return OP_LABELS.get(op, op)


def ops_for(info: FactInfo) -> tuple[str, ...]:
    """Operators a fact of this type allows, in the order the editor lists them.

    >>> ops_for(FactInfo("resident", "阪南市在住", "boolean"))
    ('=', '!=', 'unanswered', 'answered')
    """
    return OPS_BY_TYPE.get(info.type, ()) + PRESENCE_OPS


def covering_fact(pack: Pack) -> str | None:
    """The intake fact that picks the case's area (what ``covering`` names)."""
    return next((i.id for i in pack.facts.values() if i.type == "select" and i.choices == "areas"), None)


def agency_kinds(pack: Pack) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.get("kind") for a in pack.agencies if a.get("kind")))


def kind_label(pack: Pack, kind: str) -> str:
    first = next((a.label for a in pack.agencies if a.get("kind") == kind), kind)
    return f"{first.split('（')[0].rstrip('AB')}（{kind}）"


def plain(value: Any) -> Any:
    """YAML-ready value: dates as ISO text (a bare date would not reach the rule engine).

    >>> plain(dt.date(2026, 11, 20)), plain(("a", "b"))
    ('2026-11-20', ['a', 'b'])
    """
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def parse_list(text: str, kind: str) -> list | None:
    """A typed list (「、」 or comma separated) for in / not_in on text and integer facts.

    >>> parse_list("1, 2、3", "integer"), parse_list("", "text"), parse_list("1, x", "integer")
    ([1, 2, 3], [], None)
    """
    parts = [p.strip() for p in re.split(r"[,、，]", text or "") if p.strip()]
    if kind != "integer":
        return parts
    try:
        return [int(p) for p in parts]
    except ValueError:
        return None


# -- rule data → rows ---------------------------------------------------------------------
def _is_atom(c: Any) -> bool:
    return isinstance(c, Mapping) and "fact" in c and set(c) <= {"fact", "op", "value"}


def _test(c: Mapping) -> Comparison:
    op = ALIASES.get(str(c.get("op")), str(c.get("op")))
    return Comparison(c["fact"], op, None if op in PRESENCE_OPS else plain(c.get("value")))


def _member_tests(inner: Any) -> tuple[Comparison, ...]:
    if _is_atom(inner):
        return (_test(inner),)
    if isinstance(inner, Mapping) and set(inner) == {"all"} and inner["all"] and all(_is_atom(c) for c in inner["all"]):
        return tuple(_test(c) for c in inner["all"])
    raise Unsupported("世帯員の条件が「すべて満たす」の一覧より複雑なため、この画面では表せません。" + TO_RAW)


def row_of(c: Any) -> Row:
    """One condition as a row, or :class:`Unsupported`.

    >>> row_of({"not": {"fact": "consent", "op": "=", "value": "yes"}})
    Row(scope='fact', tests=(Comparison(fact='consent', op='=', value='yes'),), negate=True, count_op='>=', count=1)
    """
    negate = isinstance(c, Mapping) and set(c) == {"not"}
    if negate:
        c = c["not"]
    if _is_atom(c):
        return Row("fact", (_test(c),), negate)
    if isinstance(c, Mapping) and set(c) == {"any_member"}:
        return Row("any_member", _member_tests(c["any_member"]), negate)
    if isinstance(c, Mapping) and set(c) == {"count_members", "op", "value"}:
        op = ALIASES.get(str(c["op"]), str(c["op"]))
        return Row("count_members", _member_tests(c["count_members"]), negate, op, c["value"])
    raise Unsupported("条件の入れ子（「すべて」「いずれか」「ではない」の組み合わせ）が深く、この画面の行では表せません。" + TO_RAW)


def from_rule(raw: Mapping, covering: str | None) -> RuleForm:
    """The form for a rule as written in rules.yaml (plain data from ``yaml.safe_load``)."""
    when = raw.get("when") or {}
    if isinstance(when, Mapping) and set(when) in ({"all"}, {"any"}) and isinstance(next(iter(when.values())), list):
        combine, items = next(iter(when.items()))
    else:
        combine, items = "all", [when]
    rows = tuple(row_of(c) for c in items)
    then = raw.get("then") or {}
    fixed, kinds = [], []
    for a in then.get("agencies") or ():
        if isinstance(a, str):
            fixed.append(a)
        elif isinstance(a, Mapping) and set(a) == {"kind", "covering"} and a["covering"] == covering:
            kinds.append(a["kind"])
        else:
            raise Unsupported(f"機関の指定 {dict(a) if isinstance(a, Mapping) else a} はこの画面では表せません。" + TO_RAW)
    decided, proposed = split_programs(then.get("programs"), "programs", problems := [])
    if problems:
        raise Unsupported("事業の指定はこの画面では表せません。" + TO_RAW)
    return RuleForm(raw.get("id", ""), raw.get("label", ""), combine, rows, decided,
                    tuple(fixed), tuple(kinds), tuple(then.get("meetings") or ()), then.get("priority"),
                    tuple(then.get("resources") or ()), then.get("reason", ""), raw.get("enabled"),
                    proposed, str(raw.get("source") or ""), str(raw.get("law") or ""))


# -- rows → rule data ---------------------------------------------------------------------
def atom_dict(t: Comparison) -> dict:
    """
    >>> atom_dict(Comparison("resident", "unanswered", "ignored")), atom_dict(Comparison("age", ">=", 65))
    ({'fact': 'resident', 'op': 'unanswered'}, {'fact': 'age', 'op': '>=', 'value': 65})
    """
    out: dict = {"fact": t.fact, "op": t.op}
    if t.op not in PRESENCE_OPS:
        out["value"] = plain(t.value)
    return out


def row_dict(row: Row) -> dict:
    if row.scope == "fact":
        cond = atom_dict(row.tests[0])
    else:
        inner = atom_dict(row.tests[0]) if len(row.tests) == 1 else {"all": [atom_dict(t) for t in row.tests]}
        cond = ({"any_member": inner} if row.scope == "any_member"
                else {"count_members": inner, "op": row.count_op, "value": row.count})
    return {"not": cond} if row.negate else cond


def when_dict(combine: str, rows: tuple[Row, ...]) -> dict:
    """One row stands alone; several (or none) are wrapped in all / any.

    >>> when_dict("all", ())
    {'all': []}
    """
    if len(rows) == 1:
        return row_dict(rows[0])
    return {combine: [row_dict(r) for r in rows]}


def rule_dict(form: RuleForm, covering: str | None) -> dict:
    """The rule as rules.yaml data, keys in the order the Hannan file uses."""
    out: dict = {"id": form.id, "label": form.label}
    if form.source.strip():
        out["source"] = form.source.strip()
    elif form.law.strip():
        out["law"] = form.law.strip()
    else:
        out["policy"] = "city"
    if form.enabled is not None:
        out["enabled"] = form.enabled
    out["when"] = when_dict(form.combine, form.rows)
    then: dict = {}
    agencies = [*form.agencies, *({"kind": k, "covering": covering} for k in form.kinds)]
    programs = [*form.programs, *({"id": p, "proposed": True} for p in form.proposed if p not in form.programs)]
    for key, value in (("programs", programs), ("agencies", agencies), ("meetings", list(form.meetings)),
                       ("priority", form.priority), ("resources", list(form.resources))):
        if value:
            then[key] = value
    then["reason"] = form.reason
    out["then"] = then
    return out


# -- checks -------------------------------------------------------------------------------
def row_issues(rows: tuple[Row, ...]) -> list[str]:
    """Rows not yet complete enough to be a condition (Japanese, naming the row).

    >>> row_issues((Row(), Row("fact", (Comparison("age", ">=", None),)), Row("fact", (Comparison("area", "answered"),))))
    ['条件1: 項目と演算子を選んでください', '条件2: 値を入力してください']
    """
    out = []
    for i, row in enumerate(rows, 1):
        for t in row.tests:
            if not t.fact or not t.op:
                out.append(f"条件{i}: 項目と演算子を選んでください")
            elif t.op not in PRESENCE_OPS and t.value in (None, "", []):
                out.append(f"条件{i}: 値を入力してください")
    return out


def form_issues(form: RuleForm, old_id: str | None, existing: tuple[str, ...]) -> list[str]:
    """What must be fixed before the rule is even tried against the pack (Japanese).

    >>> form_issues(RuleForm(id="Multi", label="x", reason="y"), None, ())
    ['IDは半角の小文字英字で始め、小文字英字・数字・_ だけで書いてください（例: multi_field_elderly）']
    """
    out = []
    if not form.id:
        out.append("IDを入力してください（例: multi_field_elderly）")
    elif not ID_PATTERN.match(form.id):
        out.append("IDは半角の小文字英字で始め、小文字英字・数字・_ だけで書いてください（例: multi_field_elderly）")
    elif form.id != old_id and form.id in existing:
        out.append(f"ID「{form.id}」はすでに別のルールが使っています。別のIDにしてください")
    if not form.label.strip():
        out.append("ルールの名前を入力してください")
    if not form.reason.strip():
        out.append("理由を入力してください（振り分けの結果に表示されます）")
    return out + row_issues(form.rows)


def preview(pack: Pack, data: Mapping) -> tuple[Rule | None, list[ConfigIssue]]:
    """The rule checked against ``pack``'s vocabulary, for its live Japanese sentence."""
    parser = Parser(YamlDoc("rules.yaml", data, {}), pack.facts, pack.member_facts, pack.ids)
    cond = parser.parse(data["when"], "when")
    if cond is None:
        return None, parser.issues
    then = data["then"]
    refs = tuple(AgencyRef(id=a) if isinstance(a, str) else AgencyRef(kind=a["kind"], covering=a["covering"])
                 for a in then.get("agencies", ()))
    decided, proposed = split_programs(then.get("programs"), "programs", [])
    action = Action(decided, refs, tuple(then.get("meetings", ())), then.get("priority"),
                    tuple(then.get("resources", ())), then["reason"], proposed)
    return Rule(data["id"], data["label"], cond, action, data.get("enabled", True) is not False,
                str(data.get("source") or ""), "" if data.get("source") or data.get("law") else "city",
                str(data.get("law") or "")), []


def _node(data: Mapping) -> Any:
    """The rule as ruamel nodes in the file's own style: conditions inline, ``then`` as a block."""
    node = flowed(data)
    node["then"].fa.set_block_style()
    agencies = node["then"].get("agencies")
    if agencies is not None and all(isinstance(a, str) or len(a) <= 2 for a in agencies):
        agencies.fa.set_flow_style()

    def quote_ops(n: Any) -> None:
        if isinstance(n, dict):
            for k, v in n.items():
                if k == "op" and isinstance(v, str) and not v.isalpha() and "_" not in v:
                    n[k] = DoubleQuotedScalarString(v)
                quote_ops(v)
        elif isinstance(n, list):
            for v in n:
                quote_ops(v)
    quote_ops(node)
    return node


def _tail(node: Any) -> tuple[Any, Any]:
    """The innermost last mapping of ``node`` and its last key: where ruamel keeps the blank line after an item."""
    while isinstance(node, dict) and node:
        last = list(node)[-1]
        if not isinstance(node[last], dict) or not node[last]:
            return node, last
        node = node[last]
    return None, None


def with_rule(text: str, data: Mapping, old_id: str | None) -> str:
    """rules.yaml text with the rule replaced (``old_id``) or appended; comments elsewhere kept.

    The blank line that followed the old rule is moved to the new one, so rules stay apart.
    """
    def mutate(doc: Any) -> None:
        items = doc.setdefault("rules", [])
        node = _node(data)
        index = next((i for i, r in enumerate(items) if r.get("id") == old_id), None) if old_id else None
        if old_id and index is None:
            raise EditError(f"「{old_id}」は rules にありません。画面を開き直してください。")
        if index is None:
            before, key = _tail(items[-1]) if items else (None, None)
            if before is not None and key not in before.ca.items:
                before.ca.items[key] = [None, None, CommentToken("\n\n", CommentMark(0), None), None]
            items.append(node)
            return
        old_holder, old_key = _tail(items[index])
        new_holder, new_key = _tail(node)
        if old_holder is not None and new_holder is not None and old_key in old_holder.ca.items:
            new_holder.ca.items[new_key] = old_holder.ca.items[old_key]
        items[index] = node
    return edit_yaml(text, mutate)
