"""設定 > 名簿: agencies (add, change, remove when nothing names them) and the labels of
areas, school districts and divisions, changed in the draft."""
import streamlit as st

from engine.changes.editing import delete_item, put_item
from engine.changes.form_change import ID_RE, choice_usage, update_item
from engine.pack.roster import OPERATION_LABELS
from ui import auth, draft, state

FILE = "roster.yaml"

st.title("名簿の設定")
st.caption("支援機関・圏域・校区・課を変更します。変更は下書きに保存され、「公開」するまで使われません。")
pack = draft.pack_or_stop("名簿")




def optional(label: str, list_name: str, current, key: str):
    """A selectbox over a pack list with 「なし」 ("" rather than None: AppTest can select it)."""
    options = ["", *pack.ids(list_name)]
    return st.selectbox(label, options, index=options.index(current) if current in options else 0, key=key,
                        format_func=lambda i: pack.label(list_name, i) if i else "なし") or None


def agency_inputs(key: str, a) -> dict:
    """Every agency attribute but the id; ``a`` is the agency being changed, or None for a new one."""
    get = (lambda k, d=None: a.get(k, d)) if a is not None else (lambda k, d=None: d)
    values = {"label": st.text_input("名前", a.label if a else "", key=f"{key}.label").strip()}
    left, right = st.columns(2)
    values["kind"] = left.text_input("種別（ルールが圏域の担当機関を探すときの半角英字の名前）", get("kind", ""), key=f"{key}.kind").strip()
    ops = list(OPERATION_LABELS)
    values["operation"] = right.selectbox("運営", ops, index=ops.index(get("operation", "direct")), format_func=OPERATION_LABELS.get,
                                          key=f"{key}.operation")
    left, right = st.columns(2)
    with left:
        values["program"] = optional("事業", "programs", get("program"), f"{key}.program")
        values["division"] = optional("担当課", "divisions", get("division"), f"{key}.division")
    with right:
        values["field"] = optional("分野", "fields", get("field"), f"{key}.field")
        values["count"] = int(st.number_input("か所数", min_value=1, value=int(get("count", 1)), step=1, key=f"{key}.count"))
    values["areas"] = st.multiselect("担当する日常生活圏域", pack.ids("areas"), default=list(get("areas", ())),
                                     format_func=lambda i: pack.label("areas", i), key=f"{key}.areas", select_all=False, placeholder="選んでください", wrap=True)
    functions = st.text_area("機能（1行に1つ）", "\n".join(get("functions", ())), key=f"{key}.functions", height=120)
    values["functions"] = [line.strip() for line in functions.splitlines() if line.strip()] or None
    return values


def problems(values: dict) -> list[str]:
    out = [] if values["label"] else ["名前を入力してください。"]
    if not ID_RE.match(values["kind"]):
        out.append("種別は半角英小文字で始め、英小文字・数字・_ だけで書いてください（例: houkatsu）。")
    return out


tab_agencies, tab_new, tab_labels = st.tabs(["支援機関", "支援機関を追加", "圏域・校区・課"])

with tab_agencies:
    agencies = {a.id: a for a in pack.agencies}
    agency_id = st.selectbox("支援機関", list(agencies), format_func=lambda i: agencies[i].label, key="settings_roster.agency")
    a = agencies[agency_id]
    key = f"settings_roster.{agency_id}"
    values = agency_inputs(key, a)
    if st.button("支援機関の変更を保存する", key=f"{key}.save", type="primary"):
        found = problems(values)
        if found:
            st.error("".join(found))
        else:
            draft.save_file(FILE, lambda t: update_item(t, "agencies", agency_id, values), f"支援機関「{values['label']}」を変更しました。")
    st.divider()
    usage = choice_usage(pack, "agencies", agency_id, auth.repo())
    (st.warning if usage.blocked else st.info)(usage.text)
    if st.button("この支援機関を削除する", key=f"{key}.remove", disabled=usage.blocked) and not usage.blocked:
        draft.save_file(FILE, lambda t: delete_item(t, "agencies", agency_id), f"支援機関「{a.label}」を削除しました。")

with tab_new:
    values = agency_inputs("settings_roster.new", None)
    with st.expander("上級（YAML）: 内部名"):
        # The id is what the YAML, the rules and stored cases call the agency; staff need not see it.
        new_id = st.text_input("ID（半角英小文字・数字・_）", key="settings_roster.new.id", help="空欄のままなら自動で付けます。").strip()
    taken = pack.ids("agencies")
    new_id = new_id or next(f"agency_{n}" for n in range(len(taken) + 1, 2 * len(taken) + 2) if f"agency_{n}" not in taken)
    if st.button("支援機関を追加する", key="settings_roster.new.save", type="primary"):
        found = problems(values)
        if not ID_RE.match(new_id):
            found.insert(0, "ID は半角英小文字で始め、英小文字・数字・_ だけで書いてください（例: houkatsu_c）。")
        elif new_id in pack.ids("agencies"):
            found.insert(0, f"ID「{new_id}」の支援機関はすでにあります。")
        if found:
            st.error("".join(found))
        else:
            item = {"id": new_id, **{k: v for k, v in values.items() if v is not None}}
            draft.save_file(FILE, lambda t: put_item(t, "agencies", item), f"支援機関「{values['label']}」を追加しました。")

with tab_labels:
    st.caption("圏域・校区・課の表示名を変えます。")
    for list_name, title in (("areas", "日常生活圏域"), ("school_districts", "小学校区"), ("divisions", "課")):
        st.subheader(title)
        entries = {c.id: c for c in pack.choices(list_name)}
        item_id = st.selectbox(title, list(entries), format_func=lambda i, e=entries: e[i].label,
                               key=f"settings_roster.{list_name}")
        new_label = st.text_input("表示名", entries[item_id].label, key=f"settings_roster.{list_name}.{item_id}.label").strip()
        if st.button("表示名を保存する", key=f"settings_roster.{list_name}.save"):
            if not new_label:
                st.error("表示名を入力してください。")
            else:
                draft.save_file(FILE, lambda t, n=list_name, i=item_id, v=new_label: update_item(t, n, i, {"label": v}),
                     f"{title}「{entries[item_id].label}」の表示名を「{new_label}」にしました。")
