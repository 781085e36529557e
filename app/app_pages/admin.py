"""Admin page: list users, create users, change roles, deactivate accounts, reset passwords."""

import pandas as pd
import streamlit as st

from app import state
from app.components.archive_panel import backup_panel
from pipelines.store.users import (
    create_user,
    list_users,
    reset_password,
    set_active,
    set_role,
)
from pipelines.types import Role, UnlearnError

actor = state.require_actor()
store = state.store()
st.title("Users")
# Filled at the end of the page, so a change made below shows up in the same run.
users_table = st.empty()
ROLES = [r.value for r in Role]


def attempt(work, done: str) -> None:
    """Run a change; on success rerun, so that everything on the page shows the new state."""
    try:
        work()
    except UnlearnError as err:
        st.error(str(err))
    else:
        st.session_state["admin_done"] = done
        st.rerun()


if "admin_done" in st.session_state:
    st.success(st.session_state.pop("admin_done"))


with st.form("create_user", clear_on_submit=True):
    st.subheader("Create a user")
    username = st.text_input("Username", key="new_username", help="Letters, digits, . _ -")
    password = st.text_input("Initial password", type="password", key="new_password")
    role = st.selectbox("Role", ROLES, key="new_role")
    if st.form_submit_button("Create user"):
        attempt(
            lambda: create_user(store, actor, username, password, Role(role)),
            f"Created {username} ({role}).",
        )

users = {u["username"]: u for u in list_users(store)}
st.subheader("Change an account")
who = st.selectbox("User", list(users), key="account_user")
if who:
    user = users[who]
    st.caption(f"{who} is **{user['role']}**, {'active' if user['active'] else 'deactivated'}.")
    with st.form("change_role"):
        # opens on the person's current role, so submitting unchanged changes nothing
        new_role = st.selectbox(
            "New role", ROLES, index=ROLES.index(user["role"]), key="role_value"
        )
        if st.form_submit_button("Set role"):
            attempt(lambda: set_role(store, actor, who, Role(new_role)), f"{who} is {new_role}.")
    with st.form("reset_password", clear_on_submit=True):
        new_password = st.text_input("New password", type="password", key="reset_value")
        if st.form_submit_button("Reset password"):
            attempt(
                lambda: reset_password(store, actor, who, new_password),
                f"{who}'s password was reset.",
            )
    label = "Deactivate" if user["active"] else "Reactivate"
    if st.button(f"{label} {who}", key="toggle_active"):
        attempt(
            lambda: set_active(store, actor, who, not user["active"]),
            f"{who} is {'deactivated' if user['active'] else 'active again'}.",
        )

users_table.dataframe(pd.DataFrame(list_users(store)), hide_index=True)

st.subheader("Backup")
backup_panel(store, actor)
