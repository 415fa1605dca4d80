"""Widgets of 設定 > ルール: the conflict guard, the structured rule builder, the raw YAML.

Widget state lives under ``rules.edit.*``. Keys of the 項目 / 演算子 / 値 widgets include
the fact (and the operator's kind), so changing the fact gives fresh widgets instead of a
value of the wrong type. The conversion rows ⇄ rule data is in ``engine.changes.rule_build``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import streamlit as st
import yaml

from engine.changes.editing import EditError
from engine.changes.rule_build import (
    COMBINE,
    COUNT_OPS,
    LIST_OPS,
    SCOPES,
    Comparison,
    Row,
    RuleForm,
    Unsupported,
    agency_kinds,
    covering_fact,
    form_issues,
    from_rule,
    kind_label,
    op_label,
    ops_for,
    parse_list,
    preview,
    row_issues,
    rule_dict,
    with_rule,
)
from engine.changes.versions import content_hash
from engine.errors import ConflictError
from engine.pack.model import Pack
from engine.rules.conditions import PRESENCE_OPS, FactInfo
from engine.rules.sentences import POLICY_TEXT, proposed_note, rule_text
from ui import draft

SEEN = "rules.seen"
P = "rules.edit"
CHOICE = "rules.choice"
NEW = "__new__"
CONFLICT = ("下書きのルールは、あなたが開いた後に他の人が変更しました。変更は保存していません。"
            "「最新の下書きで作業を続ける」を押し、最新の下書きにもう一度変更を加えてください。")


BASES = {"policy": POLICY_TEXT, "source": "出典の言葉に従う", "law": "法令が求める"}


def _k(*parts: Any) -> str:
    return ".".join([P, *map(str, parts)])


# -- the draft this editor has seen --------------------------------------------------------
def _token(sources: dict) -> str:
    # Only rules.yaml: edits made meanwhile on the other 設定 pages touch other files and do not conflict.
    return content_hash({"rules.yaml": sources.get("rules.yaml", "")})


def watch(sources: dict) -> None:
    """Remember the rules.yaml shown to this editor; warn when someone else changed it since.

    ``ui.draft.change`` applies an edit to the newest draft; an edit made while looking at
    an older one (a whole rules.yaml typed in the raw tab) must be refused instead.
    """
    now = _token(sources)
    if st.session_state.setdefault(SEEN, now) != now:
        st.warning("下書きのルールは、あなたが開いた後に他の人が変更しました。下の一覧は最新の内容です。", icon="⚠️")
        if st.button("最新の下書きで作業を続ける"):
            st.session_state[SEEN] = now
            st.rerun()


def commit(edit: Callable[[str], str], message: str) -> bool:
    """Save ``edit`` (rules.yaml text → new text) into the draft, if it is still the one seen."""
    seen = st.session_state.get(SEEN)

    def apply(src: dict) -> dict:
        if _token(src) != seen:
            raise ConflictError(CONFLICT)
        return {**src, "rules.yaml": edit(src["rules.yaml"])}
    try:
        saved = draft.change(apply, message)
    except (ConflictError, EditError) as err:
        st.error(str(err), icon="⚠️")
        return False
    if saved:
        st.session_state[SEEN] = _token(draft.current()[0])
    return saved


# -- loading a rule into the builder -------------------------------------------------------
def _side(scope: str) -> str:
    """Which facts a row picks from: the case's, or a member's (any_member and count_members share them)."""
    return "case" if scope == "fact" else "member"


def _value_key(uid: int, tid: int, scope: str, fact: str, op: str) -> str:
    return _k(uid, tid, "value", _side(scope), fact, "list" if op in LIST_OPS else "one")


def _widget_value(info: FactInfo, op: str, value: Any) -> Any:
    if info.type == "date" and value:
        return dt.date.fromisoformat(str(value))
    if op in LIST_OPS and not info.choices:
        return "、".join(str(v) for v in value or ())
    return value


def _add_row(pack: Pack, row: Row) -> None:
    ss = st.session_state
    uid = ss[_k("next")] = ss.get(_k("next"), 0) + 1
    ss[_k("rows")] = [*ss.get(_k("rows"), []), uid]
    ss[_k(uid, "scope")], ss[_k(uid, "neg")] = row.scope, row.negate
    ss[_k(uid, "count_op")], ss[_k(uid, "count")] = row.count_op, row.count
    ss[_k("tests", uid)] = []
    for t in row.tests:
        _add_test(pack, uid, row.scope, t)


def _add_test(pack: Pack, uid: int, scope: str, t: Comparison) -> None:
    ss = st.session_state
    tid = ss[_k("next")] = ss[_k("next")] + 1
    ss[_k("tests", uid)] = [*ss[_k("tests", uid)], tid]
    if t.fact:
        ss[_k(uid, tid, "fact", _side(scope))] = t.fact
        ss[_k(uid, tid, "op", _side(scope), t.fact)] = t.op
        info = (pack.facts if scope == "fact" else pack.member_facts)[t.fact]
        if t.op not in PRESENCE_OPS:
            ss[_value_key(uid, tid, scope, t.fact, t.op)] = _widget_value(info, t.op, t.value)


def _load(pack: Pack, form: RuleForm, old_id: str | None, choice: str) -> None:
    ss = st.session_state
    for key in [k for k in ss if str(k).startswith(P + ".")]:
        del ss[key]
    ss[_k("loaded")], ss[_k("old_id")], ss[_k("enabled")] = choice, old_id, form.enabled
    ss[_k("id")], ss[_k("label")], ss[_k("reason")], ss[_k("combine")] = form.id, form.label, form.reason, form.combine
    for name in ("programs", "proposed", "agencies", "kinds", "meetings", "resources"):
        ss[_k(name)] = list(getattr(form, name))
    ss[_k("priority")] = form.priority
    ss[_k("basis")] = "source" if form.source else "law" if form.law else "policy"
    ss[_k("basis_text")] = form.source or form.law
    ss[_k("rows")] = []
    for row in form.rows:
        _add_row(pack, row)


# -- the row widgets -----------------------------------------------------------------------
def _value_widget(pack: Pack, info: FactInfo, op: str, key: str, where: Any) -> Any:
    if info.choices:
        ids, fmt = list(pack.ids(info.choices)), (lambda c: pack.label(info.choices, c))
        if op in LIST_OPS:
            return list(where.multiselect("値", ids, format_func=fmt, key=key, select_all=False, placeholder="選んでください", wrap=True))
        return where.selectbox("値", ids, format_func=fmt, index=None, placeholder="選択してください", key=key)
    if info.type == "boolean":
        return where.radio("値", [True, False], format_func=lambda b: "はい" if b else "いいえ", horizontal=True, key=key)
    if info.type == "date":
        day = where.date_input("値", value=None, min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31),
                               format="YYYY/MM/DD", key=key)
        return day.isoformat() if day else None
    if op in LIST_OPS:
        return parse_list(where.text_input("値", key=key, help="「、」で区切って書きます"), info.type)
    if info.type == "integer":
        now = st.session_state.get(key)
        low, high = info.min, info.max
        if isinstance(now, int):    # a value written in YAML outside the form's range stays editable
            low = None if low is None else min(low, now)
            high = None if high is None else max(high, now)
        return where.number_input("値", min_value=low, max_value=high, value=None, step=1, key=key)
    return where.text_input("値", key=key) or None


def _test_widgets(pack: Pack, uid: int, tid: int, scope: str, removable: bool) -> Comparison:
    catalog = pack.facts if scope == "fact" else pack.member_facts
    cols = st.columns([4, 2, 4, 1])
    fact = cols[0].selectbox("項目", list(catalog), format_func=lambda f: catalog[f].label, index=None,
                             placeholder="項目を選ぶ", key=_k(uid, tid, "fact", _side(scope)))
    if removable and cols[3].button("✕", key=_k(uid, tid, "del"), help="この世帯員の条件を消す"):
        st.session_state[_k("tests", uid)].remove(tid)
        st.rerun()
    if fact is None:
        return Comparison(None, None)
    info = catalog[fact]
    op = cols[1].selectbox("演算子", ops_for(info), format_func=op_label, key=_k(uid, tid, "op", _side(scope), fact))
    if op in PRESENCE_OPS:
        return Comparison(fact, op)
    return Comparison(fact, op, _value_widget(pack, info, op, _value_key(uid, tid, scope, fact, op), cols[2]))


def _row_widgets(pack: Pack, uid: int, number: int) -> Row:
    ss = st.session_state
    with st.container(border=True):
        top = st.columns([3, 3, 3])          # 「この条件を消す」 whole at 1024 px
        scope = top[0].selectbox(f"条件{number}の対象", list(SCOPES), format_func=SCOPES.get, key=_k(uid, "scope"))
        negate = top[1].checkbox("否定する（ではない）", key=_k(uid, "neg"))
        if top[2].button("この条件を消す", key=_k(uid, "del")):
            ss[_k("rows")].remove(uid)
            st.rerun()
        tids = ss[_k("tests", uid)][:1] if scope == "fact" else ss[_k("tests", uid)]
        tests = tuple(_test_widgets(pack, uid, tid, scope, scope != "fact" and len(tids) > 1) for tid in tids)
        count_op, count = ">=", 1
        if scope == "count_members":
            cols = st.columns(2)
            count = cols[0].number_input("人数", min_value=0, step=1, key=_k(uid, "count"))
            count_op = cols[1].selectbox("人数の比べ方", COUNT_OPS, format_func=op_label, key=_k(uid, "count_op"))
        if scope != "fact" and st.button("＋ 同じ世帯員の条件を追加", key=_k(uid, "add")):
            _add_test(pack, uid, scope, Comparison(None, None))
            st.rerun()
    return Row(scope, tests, negate, count_op, int(count))


def _action_widgets(pack: Pack) -> dict:
    def pick(label: str, name: str) -> tuple:
        return tuple(st.multiselect(label, pack.ids(name), format_func=lambda i: pack.label(name, i), key=_k(name), select_all=False, placeholder="選んでください", wrap=True))
    out = {"programs": pick("事業", "programs")}
    out["proposed"] = tuple(st.multiselect(f"提案する事業（{proposed_note(pack)}）", pack.ids("programs"),
                                           format_func=lambda i: pack.label("programs", i), key=_k("proposed"),
                                           help="受付では決めず、会議で利用の適否を協議する事業（参加支援など）", select_all=False, placeholder="選んでください", wrap=True))
    out["agencies"] = pick("機関", "agencies")
    out["kinds"] = tuple(st.multiselect("圏域を担当する機関", agency_kinds(pack), format_func=lambda k: kind_label(pack, k),
                                        key=_k("kinds"), disabled=covering_fact(pack) is None,
                                        help="相談受付票の圏域に応じて、その圏域を担当する機関につなぎます", select_all=False, placeholder="選んでください", wrap=True))
    out["meetings"] = pick("会議", "meetings")
    out["priority"] = st.selectbox("優先度", [None, *pack.ids("priorities")], key=_k("priority"),
                                   format_func=lambda p: "（指定しない）" if p is None else pack.label("priorities", p))
    out["resources"] = pick("地域資源", "resources")
    return out


# -- the editor tab ------------------------------------------------------------------------
def editor(pack: Pack, sources: dict) -> None:
    """Choose a rule (or a new one), edit it as rows, see its sentence, validate and save."""
    ss = st.session_state
    rules = [r for r in (yaml.safe_load(sources["rules.yaml"]) or {}).get("rules") or [] if isinstance(r, dict)]
    ids = [r.get("id") for r in rules]
    if ss.get(_k("pending")) is not None:
        ss[CHOICE] = ss.pop(_k("pending"))
    if ss.get(CHOICE) not in [NEW, *ids]:
        ss[CHOICE] = NEW
    names = {r.get("id"): r.get("label", "") for r in rules}
    choice = st.selectbox("編集するルール", [NEW, *ids], key=CHOICE,      # by number and name: ids stay in 上級
                          format_func=lambda i: "＋ 新しいルール" if i == NEW else f"{ids.index(i) + 1}. {names[i]}")
    cover = covering_fact(pack)
    written = None if choice == NEW else rules[ids.index(choice)]
    # Reload when another rule is chosen, or when the draft's copy of this one changed
    # (a list button, the raw tab): saving stale rows would silently undo that change.
    if ss.get(_k("loaded")) != choice or (written is not None and ss.get(_k("snapshot")) != written):
        if ss.get(_k("loaded")) == choice:
            st.info("下書きのこのルールが変わったため、最新の内容を読み込み直しました。")
        try:
            form = RuleForm(rows=(Row(),)) if written is None else from_rule(written, cover)
        except Unsupported as err:
            st.warning(str(err))
            st.code(yaml.safe_dump(written, allow_unicode=True, sort_keys=False), language="yaml")
            return
        _load(pack, form, None if written is None else choice, choice)
        ss[_k("snapshot")] = written
    old_id = ss.get(_k("old_id"))
    with st.expander("上級（YAML）: ルールの内部名"):
        # The id is what rules.yaml and the scenarios call the rule; staff need not see it.
        st.text_input("ルールID（半角の小文字英字・数字・_）", key=_k("id"),
                      help="空欄のままなら、新しいルールには自動で付けます。")
    rule_id = ss[_k("id")].strip()
    if old_id is None and not rule_id:
        rule_id = next(f"rule_{n}" for n in range(len(ids) + 1, 2 * len(ids) + 2) if f"rule_{n}" not in ids)
    st.text_input("ルールの名前", key=_k("label"))
    basis = st.radio("どこから来たルールか", list(BASES), format_func=BASES.get, horizontal=True, key=_k("basis"))
    basis_text = "" if basis == "policy" else st.text_input(
        f"出典の短い引用（{pack.info['city']['name']}の資料の言葉）" if basis == "source" else "法令の名前と条文", key=_k("basis_text")).strip()
    st.markdown("**条件**")
    combine = st.radio("条件の組み合わせ", list(COMBINE), format_func=lambda c: f"{COMBINE[c]}を満たす",
                       horizontal=True, key=_k("combine"))
    rows = tuple(_row_widgets(pack, uid, n) for n, uid in enumerate(list(ss[_k("rows")]), 1))
    if not rows:
        st.caption("条件がないため、すべての相談にあてはまります。")
    if st.button("＋ 条件を追加"):
        _add_row(pack, Row())
        st.rerun()
    st.markdown("**動作**")
    actions = _action_widgets(pack)
    reason = st.text_area("理由（振り分けの結果に表示されます）", key=_k("reason"))
    form = RuleForm(rule_id, ss[_k("label")].strip(), combine, rows, reason=reason.strip(),
                    enabled=ss.get(_k("enabled")), source=basis_text if basis == "source" else "",
                    law=basis_text if basis == "law" else "", **actions)
    data = rule_dict(form, cover)
    unfinished = row_issues(rows)
    rule, issues = preview(pack, data) if not unfinished else (None, [])
    if rule is not None:
        st.info("このルールを文にすると: " + rule_text(pack, rule))
    else:
        st.caption("条件がまだ文にできません: " + "／".join(unfinished or [i.message + (f"（{i.hint}）" if i.hint else "") for i in issues]))
    problems = form_issues(form, old_id, tuple(ids))
    if old_id is not None:
        # Names and reasons are the staff's own words: the editor cannot rewrite them for a new value.
        st.caption("条件や動作を変えたときは、ルール名と理由の文もそれに合っているか確かめてください"
                   "（例: 「2分野以上」を「1分野以上」に）。理由は相談の結果にそのまま表示されます。")
    if st.button("ルールを保存", type="primary"):
        _save(sources, form, data, old_id, problems)


def _save(sources: dict, form: RuleForm, data: dict, old_id: str | None, problems: list[str]) -> None:
    for problem in problems:
        st.error(problem)
    if problems:
        return
    try:
        _, err = draft.draft_pack({**sources, "rules.yaml": with_rule(sources["rules.yaml"], data, old_id)})
    except EditError as edit_err:
        st.error(str(edit_err))
        return
    if err is not None:
        st.error("このルールは保存していません。次の点を直してください。")
        for issue in err.issues:
            st.error(issue.render())
        return
    verb = "変更" if old_id else "追加"
    if commit(lambda text: with_rule(text, data, old_id), f"ルール「{form.label}」を{verb}しました（下書き）。"):
        st.session_state[_k("pending")], st.session_state[_k("snapshot")] = form.id, data
        st.rerun()


# -- the raw tab ---------------------------------------------------------------------------
def raw_editor(sources: dict) -> None:
    """rules.yaml as text, saved exactly as typed once the whole draft loads with it."""
    ss = st.session_state
    if ss.get("rules.raw.seen") != ss.get(SEEN):
        ss["rules.raw"], ss["rules.raw.seen"] = sources["rules.yaml"], ss.get(SEEN)
    st.caption("rules.yaml をそのまま編集します。コメント（# の後）や並び順は、書いたとおりに保存されます。")
    text = st.text_area("rules.yaml（下書き）", key="rules.raw", height=600)
    if not st.button("YAMLを保存", type="primary"):
        return
    if text == sources["rules.yaml"]:
        st.info("変更はありませんでした。")
        return
    _, err = draft.draft_pack({**sources, "rules.yaml": text})
    if err is not None:
        st.error("保存していません。次のエラーを直してから、もう一度保存してください。")
        for issue in err.issues:
            st.error(issue.render())
        return
    if commit(lambda _old: text, "rules.yaml を下書きに保存しました。"):
        st.rerun()
