"""研修 > ケースで学ぶ: a scenario with a 解説, one step at a time (相談 → 振り分け → 会議 → 解説)."""
import streamlit as st

from engine.pack.model import thawed
from engine.rules.decide import decide
from engine.training.diagram import path_dot
from engine.training.lessons import facts_text, meeting_lesson, narrate, route_steps, training_scenarios
from engine.rules.sentences import proposed_note
from ui import state
from ui.views.training.common import banner

banner()
pack = state.pack()
st.title("ケースで学ぶ")
st.caption("設定にあるシナリオ（振り分けの見本）から、相談がどこへ、なぜつながるのかを順に見ていきます。")
scenarios = training_scenarios(pack)
if not scenarios:
    st.info("解説のあるシナリオがありません。「設定 > 公開」でケースをシナリオとして保存し、「解説」を書いてください。")
    st.stop()
STEPS = 4
KINDS = (("programs", "事業"), ("agencies", "機関"), ("meetings", "会議"))


def move(delta: int) -> None:
    index, step = st.session_state.get("tcases.index", 0), st.session_state.get("tcases.step", 1) + delta
    if step > STEPS:
        index, step = index + 1, 1
    elif step < 1:
        index, step = index - 1, STEPS
    st.session_state["tcases.index"] = max(0, min(index, len(scenarios) - 1))
    st.session_state["tcases.step"] = max(1, min(step, STEPS))


def jump() -> None:
    st.session_state["tcases.index"] = st.session_state["tcases.pick"]
    st.session_state["tcases.step"] = 1


index = min(st.session_state.get("tcases.index", 0), len(scenarios) - 1)
step = st.session_state.get("tcases.step", 1)
st.session_state["tcases.pick"] = index
st.selectbox("シナリオ", range(len(scenarios)), key="tcases.pick", on_change=jump,
             format_func=lambda i: f"{i + 1}. {scenarios[i].name}")
scenario = scenarios[index]
case = thawed(scenario.case)
decision = decide(pack, case)
st.progress(step / STEPS, text=f"シナリオ {index + 1} / {len(scenarios)}　ステップ {step} / {STEPS}")

st.markdown("#### ステップ1　相談の内容")
st.info(narrate(pack, case))
if step >= 2:
    st.markdown("#### ステップ2　振り分けの道すじ（成り立ったルールの順）")
    st.graphviz_chart(path_dot(pack, decision))
    steps = route_steps(pack, decision)
    for i, s in enumerate(steps, 1):
        added = "／".join(f"{title}: " + "、".join(pack.label(kind, x) for x in getattr(s, kind))
                         for kind, title in KINDS if getattr(s, kind))
        proposed = "、".join(f"{pack.label('programs', x)}（{proposed_note(pack)}）" for x in s.proposed)
        st.markdown(f"**{i}. {s.label}**" + (f" → {added}" if added else "") + (f"／提案: {proposed}" if proposed else "")
                    + f"  \n{s.reason}")
        st.caption(s.basis)
        if s.facts:
            st.caption(f"使った事実 — {facts_text(pack, s.facts)}")
    if any(s.priority for s in steps):
        st.error(f"優先度: {pack.label('priorities', decision.priority)}")
if step >= 3:
    st.markdown("#### ステップ3　会議で何が起きるか")
    st.markdown("\n\n".join(meeting_lesson(pack, decision, case)))
if step >= 4:
    st.markdown("#### 解説")
    st.success(scenario.explanation)

left, right = st.columns(2)
left.button("← 前へ", key="tcases.prev", on_click=move, args=(-1,), disabled=index == 0 and step == 1,
            width="stretch")
right.button("次へ →", key="tcases.next", on_click=move, args=(1,), type="primary",
             disabled=index == len(scenarios) - 1 and step == STEPS, width="stretch")
