"""設定 > フォーム: the fields of the 相談受付票, 支援プラン and 会議記録, changed in the draft.

Every change is applied to the form file's text (comments kept), the whole draft is loaded,
and only a draft that loads is saved; removing or renaming a field first says what happens
to stored values and what still names the field (engine.changes.form_change).
"""

import streamlit as st

from engine.casework.wareki import today as jst_today
from engine.changes.form_change import (
    ID_RE,
    LIST_LABELS,
    OP_LABELS,
    TYPE_LABELS,
    add_field,
    field_change,
    find_field,
    move_field,
    remove_field,
    set_field_keys,
    walk_fields,
)
from engine.rules.conditions import OPS_BY_TYPE, PRESENCE_OPS
from engine.rules.sentences import condition_text
from ui import auth, draft, state

st.title("フォーム")
st.caption("相談受付票・支援プラン・会議記録の項目を変更します。変更は下書きに保存され、「公開」するまで受付には使われません。")
pack = draft.pack_or_stop("フォーム")

form_ids = sorted(pack.forms, key=lambda f: (f != "intake", f))
form_id = st.selectbox("フォーム", form_ids, format_func=lambda f: pack.forms[f].label, key="forms.form")
form = pack.forms[form_id]
FILE = f"forms/{form_id}.yaml"
SIMPLE_TYPES = [t for t in TYPE_LABELS if t not in ("group", "repeat")]

def list_name(name: str | None) -> str:
    return LIST_LABELS.get(name, name) if name else ""


def field_name(path: str) -> str:
    """「本人 > 年齢」: a field by its labels, never its id (a child's label alone can repeat)."""
    parts = path.split(".")
    return " > ".join(find_field(form, ".".join(parts[:n])).label for n in range(1, len(parts) + 1))

def rules_inputs(kind: str, key: str, current) -> dict:
    """The type's own checks: choices list, integer range, text pattern."""
    out: dict = {}
    if kind in ("select", "multiselect"):
        names = list(pack.vocab)
        out["choices"] = st.selectbox("選択肢の一覧", names, format_func=list_name, key=f"{key}.choices",
                                      index=names.index(current.choices) if current and current.choices in names else None,
                                      placeholder="選んでください")
    if kind == "integer":
        left, right = st.columns(2)
        out["min"] = left.number_input("最小値（空なら制限なし）", value=current.min if current else None, step=1, key=f"{key}.min")
        out["max"] = right.number_input("最大値（空なら制限なし）", value=current.max if current else None, step=1, key=f"{key}.max")
    if kind == "text":
        with st.expander("上級: 入力の形式"):
            out["pattern"] = st.text_input("入力の形式（正規表現。空なら自由）", (current.pattern or "") if current else "",
                                           key=f"{key}.pattern").strip() or None
    return out

# -- the fields ---------------------------------------------------------------------------
rows = [{"項目名": "　" * p.count(".") + ("└ " if "." in p else "") + f.label, "種類": TYPE_LABELS.get(f.type, f.type),
         "必須": "必須" if f.required else "", "表示条件": condition_text(pack, f.show_if) if f.show_if is not None else "",
         "選択肢": list_name(f.choices)} for p, f in walk_fields(form.fields)]
st.dataframe(rows, hide_index=True, width="stretch")

paths = [p for p, _ in walk_fields(form.fields)]
path = st.selectbox("変更する項目", paths, key=f"forms.{form_id}.field",
                    format_func=field_name)
field = find_field(form, path)
key = f"forms.{form_id}.{path}"
top_level = "." not in path
tab_edit, tab_show, tab_order = st.tabs(["表示名・入力のきまり", "表示条件", "並べ替え・削除"])

with tab_edit:
    label = st.text_input("表示名", field.label, key=f"{key}.label")
    help_text = st.text_area("説明（入力欄に添える文）", field.help, key=f"{key}.help", height=80)
    required = st.checkbox("必須", field.required, key=f"{key}.required")
    values = {"label": label.strip(), "help": help_text.strip() or None, "required": True if required else None,
              **rules_inputs(field.type, key, field)}
    st.caption(f"種類: {TYPE_LABELS.get(field.type, field.type)}（種類は変えられません。変えるときは新しい項目を作ってください）。"
               "選択肢の表示名は「語彙」で変えます。")
    if st.button("変更を保存する", key=f"{key}.save", type="primary"):
        if not values["label"]:
            st.error("表示名を入力してください。")
        else:
            draft.save_file(FILE, lambda t: set_field_keys(t, path, values), f"{form.label}の項目「{values['label']}」を変更しました。")

with tab_show:
    st.markdown("現在: " + (condition_text(pack, field.show_if) if field.show_if is not None else "いつも表示する"))
    if not top_level:
        st.info("表示条件は、いちばん外側の項目にだけ付けられます。")
    else:
        groups = {g.id for g in form.fields if g.type == "group"}
        facts = {p: f for p, f in walk_fields(form.fields) if p != path and not f.is_container
                 and ("." not in p or p.split(".")[0] in groups) and f.type in OPS_BY_TYPE}
        fact = st.selectbox("条件に使う項目", list(facts), format_func=field_name, key=f"{key}.cond.fact")
        if fact:
            info = facts[fact]
            op = st.selectbox("比べ方", [*OPS_BY_TYPE[info.type], *PRESENCE_OPS], format_func=lambda o: OP_LABELS.get(o, o),
                              key=f"{key}.cond.op.{fact}")
            vkey = f"{key}.cond.value.{fact}.{op}"
            value = None
            if op in PRESENCE_OPS:
                pass
            elif info.choices:
                ids = list(pack.ids(info.choices))
                if op in ("in", "not_in"):
                    value = st.multiselect("値", ids, format_func=lambda c: pack.label(info.choices, c), key=vkey,
                                           placeholder="選んでください", select_all=False, wrap=True)
                else:
                    value = st.selectbox("値", ids, format_func=lambda c: pack.label(info.choices, c), key=vkey)
            elif info.type == "boolean":
                value = st.radio("値", [True, False], format_func=lambda b: "はい" if b else "いいえ", key=vkey, horizontal=True)
            elif info.type == "integer":
                value = st.number_input("値", value=0, step=1, key=vkey)
            elif info.type == "date":
                value = st.date_input("値", value=jst_today(), key=vkey).isoformat()
            elif op in ("in", "not_in"):
                value = [v.strip() for v in st.text_area("値（1行に1つ）", key=vkey).splitlines() if v.strip()]
            else:
                value = st.text_input("値", key=vkey)
            condition = {"fact": fact, "op": op, **({} if op in PRESENCE_OPS else {"value": value})}
            left, right = st.columns(2)
            if left.button("この表示条件にする", key=f"{key}.cond.set"):
                draft.save_file(FILE, lambda t: set_field_keys(t, path, {"show_if": condition}), f"「{field.label}」の表示条件を変更しました。")
        if field.show_if is not None and st.button("表示条件をなくす（いつも表示）", key=f"{key}.cond.clear"):
            draft.save_file(FILE, lambda t: set_field_keys(t, path, {"show_if": None}), f"「{field.label}」の表示条件をなくしました。")

with tab_order:
    up, down = st.columns(2)
    if up.button("↑ 上へ", key=f"{key}.up"):
        draft.save_file(FILE, lambda t: move_field(t, path, -1), f"「{field.label}」を上へ移しました。")
    if down.button("↓ 下へ", key=f"{key}.down"):
        draft.save_file(FILE, lambda t: move_field(t, path, 1), f"「{field.label}」を下へ移しました。")
    st.divider()
    repo = auth.repo()
    with st.expander("上級（YAML）: 項目の内部名を変える"):
        # The id is what the YAML, the rules and stored cases call the field; staff need not see it.
        st.text(f"今のID: {path}")
        new_id = st.text_input("新しいID（半角英小文字・数字・_）", key=f"{key}.new_id").strip()
        if new_id:
            renaming = field_change(pack, form_id, path, new_id, repo)
            (st.warning if renaming.blocked else st.info)(renaming.text)
            if st.button("IDを変える", key=f"{key}.rename", disabled=renaming.blocked) and not renaming.blocked:
                draft.save_file(FILE, lambda t: set_field_keys(t, path, {"id": new_id}), f"項目のIDを「{path}」から「{new_id}」に変えました。")
    st.divider()
    removing = field_change(pack, form_id, path, None, repo)
    (st.warning if removing.blocked else st.info)(removing.text)
    if st.button("この項目を削除する", key=f"{key}.remove", disabled=removing.blocked) and not removing.blocked:
        draft.save_file(FILE, lambda t: remove_field(t, path), f"{form.label}から項目「{field.label}」を削除しました。ケースの値は残っています。")

# -- add a field --------------------------------------------------------------------------
st.divider()
st.subheader("項目を追加")
containers = ["", *(p for p, f in walk_fields(form.fields) if f.is_container)]
parent = st.selectbox("追加する場所", containers, key=f"forms.{form_id}.add.parent",
                      format_func=lambda p: f"「{find_field(form, p).label}」の中（最後）" if p else "フォームの最後") or None
new = f"forms.{form_id}.add"
add_label = st.text_input("表示名", key=f"{new}.label").strip()
with st.expander("上級（YAML）: 内部名"):
    add_id = st.text_input("ID（半角英小文字・数字・_）", key=f"{new}.id", help="空欄のままなら自動で付けます。").strip()
kind = st.selectbox("種類", SIMPLE_TYPES, format_func=TYPE_LABELS.get, key=f"{new}.type")
add_required = st.checkbox("必須", key=f"{new}.required")
add_help = st.text_input("説明（任意）", key=f"{new}.help").strip()
extra = rules_inputs(kind, new, None)
st.caption("まとまり・繰り返しの項目は、この画面では作れません。中の項目と一緒に、設定ファイルで作ってください。")
if st.button("項目を追加する", key=f"{new}.save", type="primary"):
    siblings = form.fields if parent is None else find_field(form, parent).fields
    add_id = add_id or next(f"field_{n}" for n in range(len(siblings) + 1, 2 * len(siblings) + 2)
                            if all(s.id != f"field_{n}" for s in siblings))
    if not ID_RE.match(add_id):
        st.error("ID は半角英小文字で始め、英小文字・数字・_ だけで書いてください（例: visit_date）。")
    elif any(s.id == add_id for s in siblings):
        st.error(f"ID「{add_id}」はすでにあります。別のIDにしてください。")
    elif not add_label:
        st.error("表示名を入力してください。")
    elif kind in ("select", "multiselect") and not extra.get("choices"):
        st.error("選択肢の一覧を選んでください。")
    else:
        item = {"id": add_id, "type": kind, "label": add_label, "required": True if add_required else None,
                "help": add_help or None, **extra}
        draft.save_file(FILE, lambda t: add_field(t, parent, item), f"{form.label}に項目「{add_label}」を追加しました。")
