"""Admin page: list users, create users, change roles."""

import pandas as pd
import streamlit as st

from app import state
from pipelines.store.users import create_user, list_users, set_role
from pipelines.types import Role, UnlearnError

actor = state.require_actor()
store = state.store()
st.title("Users")
# Filled at the end of the page, so a user created below shows up in the same run.
users_table = st.empty()

with st.form("create_user", clear_on_submit=True):
    st.subheader("Create a user")
    username = st.text_input("Username", key="new_username")
    password = st.text_input("Initial password", type="password", key="new_password")
    role = st.selectbox("Role", [r.value for r in Role], key="new_role")
    if st.form_submit_button("Create user"):
        try:
            create_user(store, actor, username, password, Role(role))
            st.success(f"Created {username} ({role}).")
        except UnlearnError as err:
            st.error(str(err))

with st.form("change_role"):
    st.subheader("Change a role")
    names = [u["username"] for u in list_users(store)]
    who = st.selectbox("User", names, key="role_user")
    new_role = st.selectbox("New role", [r.value for r in Role], key="role_value")
    if st.form_submit_button("Set role"):
        try:
            set_role(store, actor, who, Role(new_role))
            st.success(f"{who} is now {new_role}.")
        except UnlearnError as err:
            st.error(str(err))

users_table.dataframe(pd.DataFrame(list_users(store)), hide_index=True)
