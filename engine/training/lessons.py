"""研修: teaching material built from the live pack, so it changes when the rules change.

Nothing here is typed twice: a consultation is narrated from the intake contract and the
vocabularies, a step of the routing is a fired rule with what its action added, and a
program, agency or meeting is explained from its own YAML entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from engine.changes.scenarios import Scenario, scenarios_from_sources
from engine.errors import ConflictError
from engine.pack.model import Pack, Rule
from engine.pack.roster import OPERATION_LABELS
from engine.rules.decide import Decision
from engine.rules.facts import prepare
from engine.rules.sentences import condition_text, provenance_text

BANNER = "研修モード：ここで入力した内容は本番のケースには入りません"
TRAINING_SUBDIR = "training"
KINDS = {"programs": "事業", "agencies": "機関", "meetings": "会議"}
_CADENCE = {"monthly": "毎月", "bimonthly": "2か月ごと", "on_demand": "随時（必要なときに開催）"}


def training_dir(data_dir: str | Path) -> Path:
    """The practice store's directory: beside the live store's files, never one of them.

    >>> training_dir("/srv/data").as_posix()
    '/srv/data/training'
    """
    return Path(data_dir) / TRAINING_SUBDIR


_SCENARIOS: dict[str, tuple[Scenario, ...]] = {}


def training_scenarios(pack: Pack) -> list[Scenario]:
    """The pack's scenarios that carry a 解説, in file order: the training cases.

    Parsed once per pack version (a content hash): every click on a 研修 page reruns it.
    """
    found = _SCENARIOS.get(pack.version)
    if found is None:
        found = _SCENARIOS[pack.version] = tuple(s for s in scenarios_from_sources(pack.sources, pack)
                                                 if s.explanation.strip())
    return list(found)


def _labels(pack: Pack, name: str, ids: Any) -> str:
    return "・".join(f"「{pack.label(name, i)}」" for i in ids or ())


def narrate(pack: Pack, case: Mapping[str, Any]) -> str:
    """The case in plain Japanese, the way it would reach the desk.

    Raises ``CaseError`` for a case the intake form would refuse.
    """
    clean = prepare(pack, case).case
    m = pack.members
    person = clean.get(m.self_group) or {}
    age = person.get("age")
    who = f"{age}歳の方" if age is not None else "年齢の分からない方"
    words = pack.info["narrative"]
    channel, reporter = clean.get("channel"), clean.get("reporter")
    label = pack.label("channels", channel) if channel else ""
    said = {"who": who, "reporter": f"（{reporter}）" if reporter else "",
            "source": f"{reporter}（{label}）" if reporter else label}
    if channel is None:                 # an old record: the intake form requires a channel today
        lines = [f"{who}について相談がありました。"]
    else:
        lines = [words["channels"].get(channel, words["other_channel"]).format(**said)]
    city = pack.info["city"]["name"]
    if clean.get("resident") is True:
        area = f"（{pack.label('areas', clean['area'])}）" if clean.get("area") else ""
        lines.append(words["lives_in"].format(city=city, area=area))
    elif clean.get("resident") is False:
        lines.append(words["lives_outside"].format(city=city))
    else:
        lines.append(words["lives_unknown"].format(city=city))
    if person.get("concerns"):
        lines.append(f"ご本人の困りごとは{_labels(pack, 'concerns', person['concerns'])}です。")
    others = []
    for row in clean.get(m.repeat) or ():
        detail = [f"{row['age']}歳"] if row.get("age") is not None else []
        detail += [_labels(pack, "concerns", row.get("concerns"))] if row.get("concerns") else []
        if row.get("concerns"):
            detail.append(pack.label("consent", row["consent"]) if row.get("consent") in ("yes", "no")
                          else f"同意は{pack.label('consent', 'unknown')}")
        others.append(pack.label("relations", row.get("relation", "")) + (f"（{'、'.join(detail)}）" if detail else ""))
    if others:
        lines.append(f"同じ世帯に、{'、'.join(others)}がいます。")
    lines.append(words["consent"].get(person.get("consent", clean.get("consent")), words["consent_unknown"]))
    text = "".join(lines)
    return f"{text}\n\n「{clean['summary']}」" if clean.get("summary") else text


# -- the routing, rule by rule ---------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One fired rule and what it added to the decision."""

    rule: str
    label: str
    reason: str
    facts: Mapping[str, Any]
    programs: tuple[str, ...]
    agencies: tuple[str, ...]
    meetings: tuple[str, ...]
    priority: str | None
    basis: str = ""                      # 出典の引用 / 法令 / 「市の方針（変更できます）」
    proposed: tuple[str, ...] = ()       # programs the rule proposes for a meeting to decide


def _rule(pack: Pack, rule_id: str) -> Rule | None:
    return next((r for r in pack.rules if r.id == rule_id), None)


def _kind(pack: Pack, agency_id: str) -> str | None:
    return next((a.get("kind") for a in pack.agencies if a.id == agency_id), None)


def adds(pack: Pack, rule: Rule, kind: str, decision: Decision | None = None) -> tuple[str, ...]:
    """The ids of ``kind`` the rule's action names; agencies by area resolve to the decision's."""
    act = rule.then
    if kind != "agencies":
        return tuple(getattr(act, kind))
    out: list[str] = []
    for ref in act.agencies:
        if ref.id:
            out.append(ref.id)
        elif decision is not None:
            out += [a for a in decision.agencies if _kind(pack, a) == ref.kind]
    return tuple(dict.fromkeys(out))


def route_steps(pack: Pack, decision: Decision) -> list[Step]:
    """The decision's trace, each fired rule with the programs, agencies and meetings it added."""
    steps = []
    for t in decision.trace:
        rule = _rule(pack, t.rule)
        got = {k: adds(pack, rule, k, decision) if rule else () for k in KINDS}
        steps.append(Step(t.rule, t.label, t.reason, t.facts, got["programs"], got["agencies"], got["meetings"],
                          rule.then.priority if rule else None, provenance_text(rule) if rule else "",
                          rule.then.proposed if rule else ()))
    return steps


def _can_add(pack: Pack, rule: Rule, kind: str, item_id: str) -> bool:
    if kind == "priorities":
        return rule.then.priority == item_id
    if kind == "agencies":
        return any(ref.id == item_id or (ref.kind and ref.kind == _kind(pack, item_id)) for ref in rule.then.agencies)
    return item_id in getattr(rule.then, kind)


def why(pack: Pack, decision: Decision, kind: str, item_id: str) -> str:
    """Why ``item_id`` is, or is not, in the decision — in the rules' own words."""
    name = pack.label(kind, item_id)
    fired = {t.rule for t in decision.trace}
    added = [s for s in route_steps(pack, decision)
             if item_id in (getattr(s, kind) if kind in KINDS else (s.priority,))]
    if added:
        return " ".join(f"ルール「{s.label}」で加わります — {s.reason}" for s in added)
    could = [r for r in pack.rules if r.enabled and _can_add(pack, r, kind, item_id)]
    if not could:
        return f"「{name}」を加えるルールはありません。"
    parts = []
    for r in could:
        if r.id in fired:
            parts.append(f"ルール「{r.label}」は成り立ちましたが、この相談の圏域を担当するのは別の機関です。")
        else:
            parts.append(f"ルール「{r.label}」（{condition_text(pack, r.when)}なら）はこの相談では成り立ちません。")
    return f"この相談では、どのルールも「{name}」を加えません。" + "".join(parts)


def facts_text(pack: Pack, facts: Mapping[str, Any]) -> str:
    """「世帯の分野の数: 2、本人同意: 同意あり」 — the facts a rule looked at."""
    names = {c.id: c.label for lst in ("concerns", "fields", "consent", "channels", "areas") for c in pack.choices(lst)}

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "はい" if v else "いいえ"
        if isinstance(v, (list, tuple)):
            return "・".join(names.get(x, str(x)) for x in v)
        return names.get(v, str(v)) if isinstance(v, str) else str(v)
    label = lambda f: pack.facts[f].label if f in pack.facts else f  # noqa: E731
    return "、".join(f"{label(k)}: {fmt(v)}" for k, v in facts.items())


# -- what a program, agency or meeting is for -----------------------------------------
def _get(pack: Pack, kind: str, item_id: str):
    return next((c for c in pack.choices(kind) if c.id == item_id), None)


def _names(pack: Pack, kind: str, ids: Any) -> str:
    return "、".join(pack.label(kind, i) for i in ids or ()) or "—"


def cadence_text(cadence: Mapping[str, Any] | None) -> str:
    """How often a meeting meets, in Japanese.

    >>> cadence_text({"kind": "monthly", "per_year": 12})
    '毎月（年12回）'
    """
    cadence = cadence or {}
    text = _CADENCE.get(cadence.get("kind"), "—")
    return f"{text}（年{cadence['per_year']}回）" if cadence.get("per_year") else text


def describe(pack: Pack, kind: str, item_id: str) -> list[str]:
    """Markdown lines explaining a program, agency or meeting from its YAML entry."""
    c = _get(pack, kind, item_id)
    if c is None:
        return [f"「{item_id}」は設定にありません。"]
    division = f"担当課: {pack.label('divisions', c.get('division'))}" if c.get("division") else None
    if c.get("field_divisions"):
        division = "担当課: " + "、".join(f"【{pack.label('fields', f)}】{pack.label('divisions', d)}"
                                          for f, d in c.get("field_divisions").items())
    if kind == "programs":
        agencies = [a.id for a in pack.agencies if a.get("program") == c.id]
        meetings = [m.id for m in pack.meetings if m.get("program") == c.id]
        lines = [f"### {c.get('number')}. {c.label}", c.get("purpose", ""), division,
                 f"構成機関: {_names(pack, 'agencies', agencies)}", f"関係する会議: {_names(pack, 'meetings', meetings)}"]
    elif kind == "agencies":
        program = f"事業: {pack.label('programs', c.get('program'))}" if c.get("program") else "事業: なし（市外などのつなぎ先）"
        field = f"分野: {pack.label('fields', c.get('field'))}" if c.get("field") else None
        meetings = [m.id for m in pack.meetings if c.id in (m.get("members") or ())]
        lines = [f"### {c.label}", program, field,
                 f"運営: {OPERATION_LABELS.get(c.get('operation'), c.get('operation') or '—')}（{c.get('count', 1)}か所）",
                 division, f"担当圏域: {_names(pack, 'areas', c.get('areas'))}",
                 f"配置先: {pack.label('agencies', c.get('stationed_at'))}" if c.get("stationed_at") else None,
                 f"連絡先: {c.get('contact')}" if c.get("contact") else None,
                 "役割:", *(f"- {f}" for f in c.get("functions") or ()),
                 f"構成員として出る会議: {_names(pack, 'meetings', meetings)}"]
        if c.get("placeholder"):
            lines.append("（名称・担当圏域は仮の値です。市が正式な値を設定します）")
    else:
        cadence = c.get("cadence") or {}
        consent = ("本人の同意が必要です。" if c.get("consent_required")
                   else "本人の同意がなくても開けます。")
        secret = (f"構成員に守秘義務があります（{c.get('legal_basis') or '法令'}）。会議で共有したことは外に出せません。"
                  if c.get("confidential") else None)
        lines = [f"### {c.label}", f"事業: {pack.label('programs', c.get('program'))}", c.get("purpose", ""),
                 f"開催: {cadence_text(cadence)}" + ("（曜日・週は仮の値）" if cadence.get("placeholder") else ""),
                 consent, secret, f"構成員: {_names(pack, 'agencies', c.get('members'))}"
                 + (f"、{_names(pack, 'divisions', c.get('member_divisions'))}" if c.get("member_divisions") else "")
                 + (f"、{c.get('also')}" if c.get("also") else ""),
                 f"部会: {'、'.join(c.get('subgroups'))}" if c.get("subgroups") else None]
    return [line for line in lines if line]


def meeting_lesson(pack: Pack, decision: Decision, case: Mapping[str, Any]) -> list[str]:
    """Step 3 of a walkthrough: each person's consent, the meetings, and why not the others."""
    clean, m = prepare(pack, case).case, pack.members
    people = [("本人", clean.get(m.self_group) or {})]
    people += [(pack.label("relations", r.get("relation", "")), r) for r in clean.get(m.repeat) or () if r.get("concerns")]
    consents = "、".join(f"{who} **{pack.label('consent', p['consent']) if p.get('consent') else '未回答'}**" for who, p in people)
    lines = [f"同意（一人ひとりに確かめます）: {consents}"]
    if not decision.meetings:
        lines.append("この相談は会議にはかけません。")
    for m in decision.meetings:
        lines += describe(pack, "meetings", m) + [f"なぜこの会議か: {why(pack, decision, 'meetings', m)}"]
    routed = {m for r in pack.rules if r.enabled for m in r.then.meetings}
    for m in pack.meetings:
        if m.id in routed and m.id not in decision.meetings:
            lines.append(f"**{m.label}にかけない理由**: {why(pack, decision, 'meetings', m.id)}")
    return lines


# -- quiz history in the training store ------------------------------------------------
QUIZ_KEY = "training.quiz_history"
HISTORY_LIMIT = 500           # per trainee: a long course stays readable and the meta value small


def record_quiz(repo: Any, trainee: str, entry: Mapping[str, Any]) -> None:
    """Append a scored answer to the trainee's history (compare-and-set, one retry)."""
    for attempt in range(2):
        current = repo.get_meta(QUIZ_KEY)
        value = dict(current or {})
        value[trainee] = [*(value.get(trainee) or []), dict(entry)][-HISTORY_LIMIT:]
        try:
            repo.set_meta(QUIZ_KEY, value, expected=current)
            return
        except ConflictError:
            if attempt:
                raise


def quiz_history(repo: Any, trainee: str) -> list[dict]:
    """The trainee's scored answers, oldest first."""
    return list((repo.get_meta(QUIZ_KEY) or {}).get(trainee) or [])
