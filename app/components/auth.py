"""Sign-in form and sign-out button; they own the `actor` session-state key."""

from __future__ import annotations

import streamlit as st

from app import state
from pipelines.store.users import authenticate
from pipelines.types import AuthError


def login_form() -> None:
    st.title("Unlearn Studio")
    st.caption("Make a language model forget a body of text, with people in the loop.")
    with st.form("login"):
        username = st.text_input("Username", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            st.session_state["actor"] = authenticate(state.store(), username, password)
        except AuthError as err:
            st.error(str(err))
        else:
            st.rerun()


def sign_out_button() -> None:
    current = state.actor()
    st.sidebar.write(f"Signed in as **{current.username}** ({current.role})")
    if st.sidebar.button("Sign out", key="sign_out"):
        st.session_state.clear()
        st.rerun()
