"""研修 > 全体図: the five programs, agencies and meetings drawn from the live config, and a case's path."""
import streamlit as st

from engine.casework.wareki import today
from engine.errors import CaseError
from engine.pack.model import thawed
from engine.rules.decide import decide
from engine.rules.facts import form_issues
from engine.training.diagram import overview_dot, path_dot
from engine.training.lessons import KINDS, describe, facts_text, route_steps, training_scenarios
from ui import state
from ui.form_view import issue_text, jsonable, render_form
from ui.intake_form import error_summary, form_errors
from ui.views.training.common import banner

banner()
pack = state.pack()
st.title("全体図")
st.caption("公開中の設定から描いています。ルールや名簿を変えると、この図もすぐに変わります。")

whole, path = st.tabs(["全体図", "ケースの道すじ"])
with whole:
    st.graphviz_chart(overview_dot(pack), width="stretch")
    st.caption("青の枠が事業、白い箱が機関、黄色が会議です。緑の矢印はルールが相談をつなぐ先、点線は会議の構成員です。")
    options = [f"{kind}:{c.id}" for kind in KINDS for c in pack.choices(kind)]
    chosen = st.selectbox("説明を見る", options, key="overview.item",
                          format_func=lambda o: f"{KINDS[o.split(':')[0]]}: {pack.label(*o.split(':', 1))}")
    with st.container(border=True):
        st.markdown("\n\n".join(describe(pack, *chosen.split(":", 1))))

with path:
    source = st.radio("ケース", ["研修のシナリオから選ぶ", "相談を入力する"], key="overview.source", horizontal=True)
    case = None
    if source == "研修のシナリオから選ぶ":
        scenarios = {s.file: s for s in training_scenarios(pack)}
        pick = st.selectbox("シナリオ", list(scenarios), key="overview.scenario", format_func=lambda f: scenarios[f].name)
        case = thawed(scenarios[pick].case) if pick else None
    else:
        if "overview.case.received_on" not in st.session_state:
            st.session_state["overview.case.received_on"] = today()
        errors = form_errors(pack, pack.intake.fields, "overview.case") if st.session_state.get("overview.__tried") else {}
        if errors:
            error_summary(errors)
        raw = render_form(pack, pack.intake.fields, "overview.case", errors)
        if st.button("道すじを描く", type="primary"):
            typed = jsonable(raw)
            st.session_state["overview.__tried"] = True
            st.session_state["overview.__case"] = None if form_issues(pack, pack.intake.fields, typed)[1] else typed
            st.rerun()
        case = st.session_state.get("overview.__case")
    if case is not None:
        try:
            decision = decide(pack, case)
        except CaseError as err:
            st.error("この相談は振り分けられません:\n\n" + "\n".join(f"- {issue_text(i)}" for i in err.issues))
            st.stop()
        st.graphviz_chart(path_dot(pack, decision))
        for i, step in enumerate(route_steps(pack, decision), 1):
            st.markdown(f"**{i}. {step.label}**  \n{step.reason}")
            if step.facts:
                st.caption(f"使った事実 — {facts_text(pack, step.facts)}")
        for warning in decision.warnings:
            st.warning(warning)
