"""研修 > クイズ: read a fictional consultation, route it yourself, and see each difference explained."""
import secrets

import streamlit as st

from engine.casework.cases import now_iso
from engine.errors import StorageError
from engine.pack.model import thawed
from engine.rules.decide import decide
from engine.training.lessons import narrate, quiz_history, record_quiz, training_scenarios
from engine.training.quiz import PARTS, Answer, history_entry, history_rows, question_order, score
from ui import state
from ui.views.training.common import banner, training_repo

banner()
pack, repo = state.pack(), training_repo()
st.title("クイズ")
st.caption("架空の相談を読んで、つなぐ事業・機関・会議と優先度を選びます。答えは公開中のルールで採点します。")
trainee = st.text_input("研修生の名前", key="quiz.trainee", help="成績の記録に使います（研修用の保存先に残ります）。").strip()
if not trainee:
    st.info("名前を入れると問題が始まります。")
    st.stop()

scenarios = {s.file: s for s in training_scenarios(pack)}
seed = st.session_state.setdefault("quiz.seed", secrets.token_hex(4))      # one shuffle per trainee session
order = st.session_state.get("quiz.order")
if st.session_state.get("quiz.for") != [trainee, seed] or not order or any(f not in scenarios for f in order):
    # A new trainee, or the rules changed under us: start a fresh shuffled round.
    order = st.session_state["quiz.order"] = question_order(sorted(scenarios), f"{trainee}:{seed}")
    st.session_state.update({"quiz.for": [trainee, seed], "quiz.index": 0, "quiz.answer": None})
if not order:
    st.info("出題できるシナリオがありません。")
    st.stop()
index = st.session_state.get("quiz.index", 0) % len(order)
scenario = scenarios[order[index]]
case = thawed(scenario.case)

st.subheader(f"問題 {index + 1} / {len(order)}")
st.info(narrate(pack, case))


def next_question() -> None:
    st.session_state["quiz.index"] = st.session_state.get("quiz.index", 0) + 1
    st.session_state["quiz.answer"] = None


answer = st.session_state.get("quiz.answer")
if answer is None:
    picks = {key: st.multiselect(f"つなぐ{title}", pack.ids(key), key=f"quiz.{key}", placeholder="選んでください",
                                 format_func=lambda i, k=key: pack.label(k, i), select_all=False, wrap=True) for key, title in PARTS}
    priority = st.radio("優先度", pack.ids("priorities"), key="quiz.priority", index=None, horizontal=True,
                        format_func=lambda i: pack.label("priorities", i))
    if st.button("答え合わせ", type="primary"):
        answer = {**picks, "priority": priority}
        result = score(pack, decide(pack, case), Answer(**{k: tuple(v) for k, v in picks.items()}, priority=priority))
        try:
            record_quiz(repo, trainee, history_entry(now_iso(), scenario.file, scenario.name, result))
        except StorageError as err:
            st.error(f"成績を記録できませんでした: {err}")
        st.session_state["quiz.answer"] = answer
        st.rerun()
else:
    given = Answer(**{k: tuple(answer[k]) for k, _ in PARTS}, priority=answer["priority"])
    result = score(pack, decide(pack, case), given)
    (st.success if result.correct else st.warning)(f"{'正解です！' if result.correct else '惜しい！'}　{result.points} 点")
    for part in result.parts:
        kind = "priorities" if part.key == "priority" else part.key
        names = lambda ids: "、".join(pack.label(kind, i) for i in ids) or "なし"  # noqa: E731
        st.markdown(f"**{'✅' if part.correct else '❌'} {part.title}**（{round(part.score * 100)} 点）  \n"
                    f"正解: {names(part.expected)}　／　あなたの答え: {names(part.given)}")
        for note in part.notes:
            st.caption(note)
    with st.expander(f"解説 — {scenario.name}", expanded=True):
        st.markdown(scenario.explanation)
    st.button("次の問題へ", type="primary", on_click=next_question)

st.divider()
st.markdown(f"#### {trainee} さんの成績")
history = quiz_history(repo, trainee)
if history:
    points = [h.get("points", 0) for h in history]
    st.caption(f"{len(history)} 問に回答　平均 {sum(points) / len(points):.0f} 点　正解 {sum(bool(h.get('correct')) for h in history)} 問")
    st.dataframe(history_rows(history), hide_index=True, width="stretch")
else:
    st.caption("まだ回答の記録がありません。")
