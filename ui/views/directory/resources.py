"""地域資源: the community resources of resources.yaml, filtered by need and area."""
import streamlit as st

from ui import state
from ui.plain import md

pack = state.pack()
st.title("地域資源")
st.caption("参加支援・地域づくりのつなぎ先です。ケースの担当機関ではなく、つながりとして提案します。"
           "ケース詳細の「地域資源」タブから、つないだことを記録できます。")
left, right = st.columns(2)
needs = left.multiselect("困りごと（相談内容）", pack.ids("concerns"), format_func=lambda c: pack.label("concerns", c),
                         placeholder="すべて", select_all=False, wrap=True)
areas = right.multiselect("圏域", pack.ids("areas"), format_func=lambda a: pack.label("areas", a), placeholder="すべて", select_all=False, wrap=True)
found = [r for r in pack.resources
         if (not needs or set(needs) & set(r.get("needs") or ()))
         and (not areas or set(areas) & set(r.get("areas") or ()))]
st.markdown(f"{len(found)} 件")
if not found:
    st.info("条件に合う地域資源がありません。条件を減らしてください。")
for r in found:
    with st.container(border=True):
        st.markdown(f"**{md(r.label)}**{'（仮）' if r.get('placeholder') else ''}　"
                    f":small[{md(pack.label('programs', r.get('program')))}]")
        st.markdown(md(r.get("description", "")))
        owner = r.get("owner")
        owner_label = pack.label("agencies", owner) if owner in pack.ids("agencies") else pack.label("divisions", owner)
        st.caption(f"応える困りごと: {'、'.join(pack.label('concerns', c) for c in r.get('needs') or ())}　"
                   f"圏域: {'、'.join(pack.label('areas', a) for a in r.get('areas') or ())}　問い合わせ先: {owner_label}"
                   + (f"　か所数: {r.get('count')}" if r.get("count") else ""))
