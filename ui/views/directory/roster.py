"""名簿: agencies, divisions, areas and who covers each area, as roster.yaml declares them."""
import streamlit as st

from engine.pack.roster import OPERATION_LABELS
from ui import state

pack = state.pack()
st.title("名簿")
st.caption("支援機関と事業の名簿です。「仮」と付いた項目は出典にない仮の値で、市が正式な値を設定します。")


def mark(choice) -> str:
    return "（仮）" if choice.get("placeholder") else ""


def names(list_name: str, ids) -> str:
    return "、".join(pack.label(list_name, i) for i in ids or ()) or "—"


st.header("支援機関（事業別）")
for program in pack.programs:
    members = [a for a in pack.agencies if a.get("program") == program.id]
    with st.expander(f"{program.get('number')}. {program.label}（{len(members)}機関）", expanded=program.id == pack.programs[0].id):
        st.markdown(program.get("purpose", ""))
        st.dataframe([{
            "名称": a.label + mark(a),
            "分野": pack.label("fields", a.get("field")) if a.get("field") else "—",
            "運営": OPERATION_LABELS.get(a.get("operation"), a.get("operation")),
            "か所数": a.get("count"),
            "担当課": pack.label("divisions", a.get("division")) if a.get("division") else "—",
            "担当圏域": names("areas", a.get("areas")),
            "配置先": pack.label("agencies", a.get("stationed_at")) if a.get("stationed_at") else "—",
            "機能": " / ".join(a.get("functions") or ()),
        } for a in members], hide_index=True, width="stretch")

# Agencies that cover only some areas are the ones a rule picks "by area"; the rest serve all.
st.header("圏域ごとの担当機関")
all_areas = set(pack.ids("areas"))
st.dataframe([{"圏域": area.label + mark(area),
               "担当機関": "、".join(a.label + mark(a) for a in pack.agencies
                                   if area.id in (a.get("areas") or ()) and set(a.get("areas") or ()) != all_areas) or "—"}
              for area in pack.choices("areas")], hide_index=True, width="stretch")

left, right = st.columns(2)
with left:
    st.header("日常生活圏域と小学校区")
    st.dataframe([{"圏域": area.label + mark(area),
                   "小学校区": names("school_districts", [d.id for d in pack.choices("school_districts") if d.get("area") == area.id])}
                  for area in pack.choices("areas")], hide_index=True, width="stretch")
with right:
    st.header("課")
    st.dataframe([{"課": d.label} for d in pack.choices("divisions")], hide_index=True, width="stretch")

other = [a for a in pack.agencies if not a.get("program")]
if other:
    st.header("市外などのつなぎ先")
    for a in other:
        st.markdown(f"- **{a.label}** — {' / '.join(a.get('functions') or ())}")
