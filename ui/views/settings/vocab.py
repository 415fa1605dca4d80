"""設定 > 語彙: the choice lists of vocabularies.yaml (分野, 相談内容, 相談経路, 本人同意, 続柄,
優先度, 会議の結果): relabel, add, reorder, and remove an id nothing uses."""
import streamlit as st

from engine.changes.editing import delete_item, move_item, put_item
from engine.changes.form_change import ID_RE, LIST_LABELS, choice_usage, update_item
from engine.pack.vocab import SCHEMA
from ui import auth, draft, state

FILE = "vocabularies.yaml"

st.title("語彙")
st.caption("フォームの選択肢とルールが使う一覧です。表示名はいつでも変えられます。"
           "変更は下書きに保存され、「公開」するまで使われません。")
pack = draft.pack_or_stop("語彙")




def extras(key: str, entry) -> dict:
    """The list's own attributes: a concern's 分野, a priority's rank."""
    if list_name == "concerns":
        options = ["", *pack.ids("fields")]
        current = entry.get("field") if entry else ""
        return {"field": st.selectbox("分野（なしなら分野を数えない）", options, index=options.index(current) if current in options else 0,
                                      format_func=lambda f: pack.label("fields", f) if f else "なし", key=f"{key}.field") or None}
    if list_name == "relations":
        current = "・".join(entry.get("aliases") or ()) if entry else ""
        text = st.text_input("別の言い方（・で区切る。ケースの入力で、この続柄として受け付けます）", current, key=f"{key}.aliases",
                             help="例: 夫・妻 のような、ふだん使う言い方。ほかの続柄の表示名や別の言い方と同じ言葉は使えません。")
        words = [w.strip() for w in text.replace("、", "・").split("・") if w.strip()]
        return {"aliases": list(dict.fromkeys(words)) or None}
    if list_name == "priorities":
        return {"rank": int(st.number_input("順位（大きいほど優先）", value=int(entry.get("rank", 0)) if entry else 0, step=1,
                                            key=f"{key}.rank"))}
    return {}


list_name = st.selectbox("一覧", list(SCHEMA), format_func=lambda n: LIST_LABELS.get(n, n), key="settings_vocab.list")
entries = {c.id: c for c in pack.choices(list_name)}
columns = {"concerns": ("分野", lambda c: pack.label("fields", c.get("field")) if c.get("field") else "—"),
           "relations": ("別の言い方", lambda c: "・".join(c.get("aliases") or ()) or "—"),
           "priorities": ("順位", lambda c: c.get("rank"))}
st.dataframe([{"表示名": c.label, **({columns[list_name][0]: columns[list_name][1](c)} if list_name in columns else {})}
              for c in entries.values()], hide_index=True, width="stretch")

tab_edit, tab_new = st.tabs(["変更・並べ替え・削除", "追加"])
with tab_edit:
    item_id = st.selectbox("項目", list(entries), format_func=lambda i: entries[i].label, key=f"settings_vocab.{list_name}.item")
    entry = entries[item_id]
    key = f"settings_vocab.{list_name}.{item_id}"
    label = st.text_input("表示名", entry.label, key=f"{key}.label").strip()
    values = {"label": label, **extras(key, entry)}
    if st.button("変更を保存する", key=f"{key}.save", type="primary"):
        if not label:
            st.error("表示名を入力してください。")
        else:
            draft.save_file(FILE, lambda t: update_item(t, list_name, item_id, values), f"{LIST_LABELS.get(list_name, list_name)}「{entry.label}」を「{label}」に変更しました。")
    up, down = st.columns(2)
    if up.button("↑ 上へ", key=f"{key}.up"):
        draft.save_file(FILE, lambda t: move_item(t, list_name, item_id, -1), f"「{entry.label}」を上へ移しました。")
    if down.button("↓ 下へ", key=f"{key}.down"):
        draft.save_file(FILE, lambda t: move_item(t, list_name, item_id, 1), f"「{entry.label}」を下へ移しました。")
    st.divider()
    usage = choice_usage(pack, list_name, item_id, auth.repo())
    (st.warning if usage.blocked else st.info)(usage.text)
    if st.button("この項目を削除する", key=f"{key}.remove", disabled=usage.blocked) and not usage.blocked:
        draft.save_file(FILE, lambda t: delete_item(t, list_name, item_id), f"「{entry.label}」を削除しました。")

with tab_new:
    key = f"settings_vocab.{list_name}.new"
    new_label = st.text_input("表示名", key=f"{key}.label").strip()
    values = extras(key, None)
    with st.expander("上級（YAML）: 内部名"):
        # The id is what the YAML, the rules and stored cases call the entry; staff need not see it.
        new_id = st.text_input("ID（半角英小文字・数字・_）", key=f"{key}.id", help="空欄のままなら自動で付けます。").strip()
    new_id = new_id or next(f"{list_name}_{n}" for n in range(len(entries) + 1, 2 * len(entries) + 2)
                            if f"{list_name}_{n}" not in entries)
    if st.button("追加する", key=f"{key}.save", type="primary"):
        if not ID_RE.match(new_id):
            st.error("ID は半角英小文字で始め、英小文字・数字・_ だけで書いてください（例: loneliness）。")
        elif new_id in entries:
            st.error(f"ID「{new_id}」はすでにあります。別のIDにしてください。")
        elif not new_label:
            st.error("表示名を入力してください。")
        else:
            item = {"id": new_id, "label": new_label, **{k: v for k, v in values.items() if v is not None}}
            draft.save_file(FILE, lambda t: put_item(t, list_name, item), f"{LIST_LABELS.get(list_name, list_name)}に「{new_label}」を追加しました。")
