"""管理 > アカウント (manage_users): create, disable, reset, unlock, change role and agency.
Every change goes to the audit log (ids and codes only); the first administrator is still
made on the login page of an empty store."""
import streamlit as st

from ui import auth, state
from ui.auth import AuthError

access = auth.access()
st.title("アカウント")
if not access.can("manage_users"):
    st.error("このページは見つからないか、開く権限がありません。左のメニューから選んでください。")
    st.stop()
pack, users, sessions, log = state.pack(), auth.user_store(), auth.session_store(), auth.audit_log()
actor = access.user.id
roles = {r.id: r.label for r in pack.choices("roles")}
agencies = {a.id: a.label for a in pack.choices("agencies")}
PASSWORDS = ("accounts.new.password", "accounts.new.again", "accounts.reset.password", "accounts.reset.again")
notice = st.session_state.pop("accounts.__notice", None)
if notice:
    # A change was made: the passwords typed for it leave the page (a shared screen, a later click).
    for key in PASSWORDS:
        st.session_state[key] = ""
    message, whom = notice
    st.success(message)
    st.text(f"対象: {whom}")          # a name typed by an administrator: text, never markdown


def done(message: str, action: str, target: str, **fields) -> None:
    log.append(actor, action, target=target, **fields)
    account = users.get(target)
    st.session_state["accounts.__notice"] = (message, f"{account.name if account else ''}（ログインID: {target}）")
    st.rerun()


def role_names(ids) -> str:
    return "、".join(roles.get(r, "（不明な役割）") for r in ids)


everyone = sorted(users.users(), key=lambda u: u.id)
st.dataframe([{"ログインID": u.id, "氏名": u.name, "役割": role_names(u.roles),
               "所属機関": agencies.get(u.agency, "（不明な機関）") if u.agency else "—",
               "状態": "無効" if u.disabled else "ロック中" if users.locked(u.id) else "有効",
               "ログイン中": sessions.count(u.id)} for u in everyone], hide_index=True, width="stretch")


create, change = st.tabs(["アカウントを作る", "アカウントを変える"])
with create:
    with st.form("accounts.new", clear_on_submit=False):
        new_id = st.text_input("ログインID（半角英小文字で始まる2〜32文字）")
        new_name = st.text_input("氏名（表示名）")
        new_roles = st.multiselect("役割", list(roles), format_func=roles.get, placeholder="選択してください", select_all=False, wrap=True)
        new_agency = st.selectbox("所属機関（機関に所属する職員のとき）", list(agencies), format_func=agencies.get,
                                  index=None, placeholder="選択してください")
        first = st.text_input("パスワード（10文字以上）", type="password", key=PASSWORDS[0])
        again = st.text_input("パスワード（確認）", type="password", key=PASSWORDS[1])
        made = st.form_submit_button("アカウントを作る", type="primary")
    if made:
        if first != again:
            st.error("確認のパスワードが一致しません。")
        else:
            try:
                user = users.add(new_id.strip(), new_name.strip(), new_roles, first, new_agency)
            except AuthError as err:
                st.error(str(err))
            else:
                done("アカウントを作りました。", "user_add", user.id,
                     role=",".join(new_roles))

with change:
    if not everyone:
        st.info("アカウントがありません。")
        st.stop()
    chosen = st.selectbox("アカウント", [u.id for u in everyone], index=None, placeholder="選択してください",
                          format_func=lambda i: f"{next(u.name for u in everyone if u.id == i)}（{i}）")
    if chosen is None:
        st.stop()
    user = users.get(chosen)
    left, right = st.columns(2)
    with left:
        st.markdown("**役割と所属機関**")
        edit_roles = st.multiselect("役割", list(roles), default=[r for r in user.roles if r in roles],
                                    format_func=roles.get, key=f"accounts.{chosen}.roles", placeholder="選択してください", select_all=False, wrap=True)
        choices = ["", *agencies]           # "": no agency (市の職員)
        edit_agency = st.selectbox("所属機関", choices, format_func=lambda a: agencies.get(a, "（所属機関なし）"),
                                   key=f"accounts.{chosen}.agency",
                                   index=choices.index(user.agency) if user.agency in agencies else 0) or None
        if st.button("役割と所属機関を保存する", key=f"accounts.{chosen}.save_roles"):
            if chosen == actor and "admin" not in edit_roles:
                st.error("自分の管理者の役割は外せません（ほかの管理者に依頼してください）。")
            else:
                try:
                    users.set_roles(chosen, edit_roles, edit_agency)
                except AuthError as err:
                    st.error(str(err))
                else:
                    done("役割と所属機関を変えました。", "user_roles", chosen, role=",".join(edit_roles))
        st.markdown("**使える・使えない**")
        if user.disabled:
            if st.button("使えるようにする", key=f"accounts.{chosen}.enable"):
                users.set_disabled(chosen, False)
                done("アカウントを使えるようにしました。", "user_enable", chosen)
        elif chosen == actor:
            st.caption("自分のアカウントは無効にできません。")
        elif st.button("無効にする（ログイン中のセッションも終わります）", key=f"accounts.{chosen}.disable"):
            users.set_disabled(chosen, True)
            done("アカウントを無効にしました。", "user_disable", chosen)
        if users.locked(chosen) and st.button("ロックを解除する", key=f"accounts.{chosen}.unlock"):
            users.unlock(chosen)
            done("ロックを解除しました。", "user_unlock", chosen)
    with right:
        st.markdown("**パスワードの再設定**")
        with st.form(f"accounts.{chosen}.reset"):
            first = st.text_input("新しいパスワード（10文字以上）", type="password", key=PASSWORDS[2])
            again = st.text_input("新しいパスワード（確認）", type="password", key=PASSWORDS[3])
            reset = st.form_submit_button("パスワードを再設定する")
        if reset:
            if first != again:
                st.error("確認のパスワードが一致しません。")
            else:
                try:
                    users.reset_password(chosen, first)
                except AuthError as err:
                    st.error(str(err))
                else:
                    done("パスワードを再設定しました。ログイン中のセッションは終わりました。", "user_reset", chosen)
