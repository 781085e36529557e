"""Sign-in form, sign-out button and the session cookie; they own the `actor` session key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from app import state
from pipelines.store.sessions import open_session, revoke, session_actor
from pipelines.store.users import authenticate
from pipelines.types import AuthError

COOKIE = "unlearn_session"
SESSION_ENDED = (
    "Your session ended (it expired, your password was reset or your account was closed); "
    "sign in again."
)


def restore_session() -> None:
    """Sign a reloaded page (or a bookmarked URL) in from its session cookie, if still valid;
    sign an open tab out, with the reason, once its session has expired or been revoked (a
    password reset, a sign-out elsewhere). Checked once per run, before any page draws."""
    if st.session_state.get("actor") is not None:
        token = st.session_state.get("session_token")
        if token and session_actor(state.store(), token) is None:
            st.session_state.clear()
            st.session_state["signed_out_because"] = SESSION_ENDED
        return
    token = st.context.cookies.get(COOKIE)
    signed_in = session_actor(state.store(), token)
    if signed_in is not None:
        st.session_state["actor"], st.session_state["session_token"] = signed_in, token


def login_form() -> None:
    st.title("Unlearn Studio")
    st.caption("Make a language model forget a body of text, with people in the loop.")
    why = st.session_state.get("signed_out_because")
    if why:
        st.info(why)
    with st.form("login"):
        username = st.text_input("Username", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            signed_in = authenticate(state.store(), username, password)
        except AuthError as err:
            st.error(str(err))
        else:
            token = open_session(state.store(), signed_in)
            st.session_state.pop("signed_out_because", None)
            st.session_state["actor"], st.session_state["session_token"] = signed_in, token
            hours = state.store().settings.session_hours
            expires = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
            st.session_state["cookie_to_set"] = (token, expires)
            st.rerun()


def keep_session_cookie() -> None:
    """Hand this session's token to the browser as a cookie. Streamlit's own `st.html` runs the
    one line of script in the page (no component, so no value comes back and no rerun races a
    click); drawn on every run while signed in, it sets the same cookie again."""
    cookie = st.session_state.get("cookie_to_set")
    if cookie is None:
        return
    token, expires = cookie  # a URL-safe token: nothing in it needs escaping
    when = datetime.fromisoformat(expires).strftime("%a, %d %b %Y %H:%M:%S GMT")
    script = f"document.cookie = '{COOKIE}={token}; path=/; expires={when}; SameSite=Strict';"
    st.sidebar.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def sign_out_button() -> None:
    current = state.actor()
    st.sidebar.write(f"Signed in as **{current.username}** ({current.role})")
    if st.sidebar.button("Sign out", key="sign_out"):
        revoke(state.store(), token=st.session_state.get("session_token"))
        st.session_state.clear()
        st.rerun()
