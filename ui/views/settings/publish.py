"""設定 > 公開: check the draft (validation, scenarios, impact on stored cases), then publish it.

One screen, top to bottom; each step stops the page when the next one cannot run.
"""
import streamlit as st
from streamlit.errors import StreamlitAPIException

from engine.changes.impact import KEYS, change_labels, preview
from engine.casework.handoff import KIND_LABELS, confirmed, item_label
from engine.changes.scenario_edit import accept_results, scenario_file_name, scenario_text, unlike_confirmed
from engine.changes.scenarios import render_failure, run_all
from engine.changes.versions import (
    PublishError,
    content_hash,
    discard_draft,
    ensure_live,
    get_draft,
    publish,
    rule_changes,
    version_label,
    version_labels,
    yaml_diff,
)
from engine.changes.wording import stale_wording
from engine.errors import CaseError, ConfigError, ConflictError, TsunaguError
from engine.rules.decide import decide
from ui import auth, state
from ui import draft as drafts
from ui.plain import md

repo = auth.repo()
st.title("設定の公開")
notice = st.session_state.pop("publish.__notice", None)
if notice:
    st.success(notice)

stored = get_draft(repo)
if stored is None:
    st.info("公開中の設定と同じです。公開する下書きはありません。設定を変えるには、まず「ルール」などの画面で下書きを作ってください。")
    try:
        st.page_link("views/settings/rules.py", label="設定 > ルール へ", icon="📐")
    except StreamlitAPIException:
        pass  # the ルール page is not in this app's navigation: the text above still says where to go
    st.stop()

drafts.banner()
sources, base = dict(stored["sources"]), stored["base"]
draft_hash = content_hash(sources)
live_id = ensure_live(repo, state.config_dir())
live = drafts.live()
# A click acts on the draft this run reads; if that is not the draft the editor last saw
# (someone saved meanwhile), a destructive action asks them to look again first.
seen_before = st.session_state.get("publish.seen_hash")
st.session_state["publish.seen_hash"] = draft_hash
CHANGED = "下書きは、この画面を開いた後に他の人が変更しました。表示を最新にしたので、内容を確かめてからもう一度操作してください。"


def discard_section() -> None:
    """Throw the draft away: confirmed first, and refused when someone changed it meanwhile."""
    sure = st.checkbox("下書きを破棄してよいことを確かめました（元に戻せません）", key="publish.discard_ok")
    if st.button("下書きを破棄する", disabled=not sure):
        if seen_before != draft_hash:
            st.warning(CHANGED)
            return
        try:
            discard_draft(repo, expected=stored)
        except ConflictError:
            st.error("下書きは、いま他の人が変更しました。画面を開き直して、最新の下書きを確かめてください。")
        else:
            st.session_state.pop("publish.discard_ok", None)
            st.session_state["publish.__notice"] = "下書きを破棄しました。公開中の設定はそのままです。"
            st.rerun()


def without_personal(fields, data: dict) -> dict:
    """The case without its personal fields (氏名・住所…): config versions are kept forever."""
    out = {}
    for key, value in data.items():
        f = next((f for f in fields if f.id == key), None)
        if f is not None and f.personal:
            continue
        if f is not None and f.type == "group" and isinstance(value, dict):
            value = without_personal(f.fields, value)
        elif f is not None and f.type == "repeat" and isinstance(value, list):
            value = [without_personal(f.fields, row) if isinstance(row, dict) else row for row in value]
        out[key] = value
    return out


def routing_text(pack, summary) -> str:
    """「事業: … / 機関: … / 会議: … / 優先度: …」 with the pack's Japanese names."""
    kinds = (("programs", "事業"), ("agencies", "機関"), ("meetings", "会議"))
    parts = [f"{title}: {'、'.join(pack.label(key, i) for i in summary[key]) or 'なし'}" for key, title in kinds]
    return " / ".join([*parts, f"優先度: {pack.label('priorities', summary[KEYS[3]])}"])


if base != live_id:
    names = version_labels(repo)
    st.text(f"下書きの元の版: {names.get(base, '記録のない版')}　公開中の版: {names.get(live_id, '記録のない版')}")
    st.warning("この下書きの元の版は、もう公開中の版ではありません。"
               "このままでは公開できません。下書きを破棄して、最新の版から作り直してください。", icon="⚠️")

# -- 1. 検証 -------------------------------------------------------------------------------
st.header("1. 検証")
draft, error = drafts.draft_pack(sources)
if error is not None:
    st.error(f"下書きの設定にエラーが {len(error.issues)} 件あります。直すまで、シナリオの確認・影響の確認・公開はできません。")
    for issue in error.issues:
        st.error(issue.render())
    discard_section()
    st.stop()
st.success("下書きの設定は正しく読み込めます。")
for warning in stale_wording(live, draft):          # a label still saying 「2分野以上」 after the change
    st.warning(md(warning), icon="⚠️")

# -- 2. シナリオ -----------------------------------------------------------------------------
st.header("2. シナリオ")
# Kept per draft content: running every scenario on each rerun would slow every click.
cached = st.session_state.get("publish.scenarios")
if not cached or cached[0] != draft_hash:
    cached = st.session_state["publish.scenarios"] = (draft_hash, run_all(draft))
results = cached[1]
failed = [r for r in results if not r.passed]
left, right = st.columns(2)
left.metric("成功", f"{len(results) - len(failed)} 件")
right.metric("失敗", f"{len(failed)} 件")
if not results:
    st.warning("この下書きにはシナリオがありません。振り分けを確かめるシナリオを保存することをおすすめします。")
if failed:
    st.caption("ルールを直すか、変更が意図どおりなら、シナリオごとに期待（前）と新しい結果（後）を読んで、"
               "そのシナリオの期待を新しい結果に書き換えてください。ケースを読めないシナリオは書き換えられません。")
for result in failed:
    # One at a time, each read before it is accepted: a bulk "accept all" hid what changed.
    with st.expander(f"✗ {result.scenario.name}", expanded=True):
        st.code(render_failure(result, draft, ids=False), language=None, wrap_lines=True)   # whole at 1024 px
        if result.decision is not None and st.button(
                "このシナリオの期待を新しい結果にする（変更が意図どおりの場合）", key=f"publish.accept.{result.scenario.file}"):
            if seen_before != draft_hash:
                st.warning(CHANGED)
            elif drafts.change(lambda src, r=result: accept_results(src, [r]),
                               f"シナリオ「{result.scenario.name}」の期待を、下書きでの新しい結果に更新しました。"):
                st.rerun()

with st.expander("ケースをシナリオとして保存"):
    # The case's number, not a list of every case: that read every stored case on each rerun of this
    # page (100,000 bodies on PostgreSQL) and sent all their numbers to the browser.
    last = str((st.session_state.get("intake.__saved") or {}).get("id") or "")
    if last and st.session_state.get("publish.scenario_case.__offered") != last:
        # The case just taken on 相談受付 is offered, once: a number typed after that stays.
        st.session_state["publish.scenario_case.__offered"] = st.session_state["publish.scenario_case"] = last
    chosen = st.text_input("シナリオにするケースの番号", key="publish.scenario_case",
                           placeholder="例: C20261201-1a2b3c",
                           help="ケース一覧・ケース詳細に出ている番号です。直前に受け付けたケースの番号は初めから入っています。"
                           ).strip() or None
    stored_case = {}
    if chosen:
        stored_case = repo.reachable_case(chosen) or {}
        if not stored_case:
            st.error("その番号のケースは見つからないか、見る権限がありません。番号を確かめてください。")
            chosen = None
    intake = without_personal(draft.intake.fields, stored_case.get("intake", {}))
    decision = problem = None
    if chosen:
        try:
            decision = decide(draft, intake)
        except CaseError as err:
            problem = "このケースは下書きの設定では読めません: " + "; ".join(i.render() for i in err.issues)
    people = confirmed(stored_case)
    unlike = unlike_confirmed(decision, people) if decision is not None else []
    expect_confirmed = True
    if unlike:
        # Staff changed this case's routing when they confirmed it: say so before the scenario
        # is saved, because a scenario expecting what people decided fails until the rules give it.
        st.warning("このケースは、確定のときに職員が振り分けを変えています。下書きの設定で振り分けた結果とは次の点が違います:\n\n"
                   + "\n".join(f"- {KIND_LABELS[kind]}「{md(item_label(draft, kind, item))}」を{'加えた' if change == 'added' else '外した'}"
                                for kind, item, change in unlike))
        expect_confirmed = st.radio(
            "シナリオの期待にする振り分け", [True, False], key="publish.scenario_expect",
            format_func=lambda c: ("職員が確定した振り分け（ルールが確定どおりの結果を出すまで、このシナリオは失敗します）" if c
                                   else "下書きの設定で振り分けた結果（今のルールの動きを記録します）"))
    name = st.text_input("シナリオ名", key="publish.scenario_name")
    explanation = st.text_area("解説", key="publish.scenario_explanation",
                               help="なぜこの振り分けになるのか、研修で読む人に分かるように書いてください。")
    st.caption("期待は、職員が確定した振り分け（未確定なら下書きの設定で振り分けた結果）になります。氏名・住所など個人情報の項目はシナリオに入れません。"
               "相談の要旨に個人が分かることが書かれていないか、保存後にシナリオを確かめてください。")
    if st.button("シナリオとして保存", disabled=chosen is None):
        if problem:
            st.error(problem)
        elif not name.strip():
            st.error("シナリオ名を入力してください。")
        elif name.strip() in {r.scenario.name for r in results}:
            st.error(f"シナリオ名「{name.strip()}」はもうあります。結果の一覧で見分けられるよう、別の名前にしてください。")
        else:
            text = scenario_text(name.strip(), explanation, intake, decision, people if expect_confirmed else None)
            if drafts.change(lambda src: {**src, scenario_file_name(src, name): text},
                             f"ケース {chosen} をシナリオ「{name.strip()}」として下書きに保存しました。"):
                st.rerun()

# -- 3. 影響（インパクト）プレビュー ------------------------------------------------------------
st.header("3. 影響（インパクト）プレビュー")
st.caption("保存されているすべてのケースを、公開中の設定と下書きの設定の両方で振り分けて比べます。ケースは変更しません。")
if st.button("影響を確かめる"):
    bar = st.progress(0.0, text="ケースを振り分けています…")
    found = repo.read_for_impact(lambda cases: preview(
        cases, live, draft, lambda done, total: bar.progress(done / total, text=f"{done} / {total} 件")))
    st.session_state["publish.impact"] = (draft_hash, found)
    bar.empty()
checked = st.session_state.get("publish.impact")
impact = checked[1] if checked and checked[0] == draft_hash else None
if impact is None:
    st.info("公開する前に「影響を確かめる」を押して、振り分けが変わるケースを確かめてください。")
else:
    st.markdown(f"**{impact.evaluated} 件中 {len(impact.changed)} 件の振り分けが変わります。**")
    if impact.counts:
        st.dataframe([{"変わった点": label, "件数": n} for label, n in impact.counts.items()], hide_index=True)
    if impact.changed:
        # What changed first, wide enough to read; the whole routing before and after follows.
        st.dataframe([{"ケース番号": c["case_id"], "変わった点": "、".join(change_labels(draft, c["before"], c["after"])),
                       "変更前": routing_text(live, c["before"]), "変更後": routing_text(draft, c["after"])}
                      for c in impact.changed],
                     hide_index=True, column_config={"変わった点": st.column_config.TextColumn(width="large")})
    if impact.errors:
        st.subheader("判定できないケース")
        st.caption("下書きの設定では読めないケースです（例: 使われている選択肢が削除された）。公開すると、再判定のときにエラーになります。")
        st.dataframe([{"ケース番号": e["case_id"], "理由": e["message"]} for e in impact.errors], hide_index=True)

# -- 4. 公開 ----------------------------------------------------------------------------------
st.header("4. 公開")
changes = rule_changes(live, draft)
if changes:
    st.markdown("**ルールの変更**")
    labels = {r.id: r.label for r in (*live.rules, *draft.rules)}        # rules by their names, never ids
    for kind, rule_id, sentence in changes:
        st.markdown(f"- **{kind}** {md(labels.get(rule_id, ''))}: " + md(sentence).replace("\n", "  \n"))
else:
    st.caption("ルールの変更はありません。ほかの設定の変更は、下の「上級（YAML）」の差分で確かめてください。")
with st.expander("上級（YAML）: 設定ファイルの差分（公開中 → 下書き）"):
    st.code(yaml_diff(live.sources, sources) or "（差分はありません）", language="diff")

ready = not failed and impact is not None
if failed:
    st.warning(f"シナリオが {len(failed)} 件失敗しているため、公開できません。")
elif impact is None:
    st.warning("影響を確かめるまで、公開できません。")
who = auth.access().user.name             # the logged-in user, as the audit records; never typed
st.text(f"公開する人: {who}")
why = st.text_area("公開の理由", key="publish.reason", help="必須です。履歴に残り、あとで戻すときの手がかりになります。")
if st.button("公開する", type="primary", disabled=not ready) and ready:
    try:
        version = publish(repo, sources, who, why, base)
    except (PublishError, ConflictError) as err:
        st.error(str(err), icon="⚠️")
    except ConfigError as err:
        st.error(err.render())
    except TsunaguError as err:
        st.error(str(err))
    else:
        # No author in it: the notice is markdown, and a name is typed text.
        message = f"{version_label(version, with_author=False)} を公開しました。これからの受付と振り分けは、この版の設定で行います。"
        try:
            discard_draft(repo, expected=stored)
        except ConflictError:
            message += "（公開の間に下書きが変更されたため、下書きは残してあります。）"
        for key in ("publish.impact", "publish.scenarios", "publish.reason"):
            st.session_state.pop(key, None)
        st.session_state["publish.__notice"] = message
        st.rerun()

st.divider()
with st.expander("下書きを破棄する"):
    discard_section()
