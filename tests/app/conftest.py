"""The app under AppTest, fresh for each test on its own home."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "app" / "streamlit_app.py")


@pytest.fixture
def app(unlearn_home) -> AppTest:
    st.cache_resource.clear()  # the store is cached per process; each test has its own home
    return AppTest.from_file(APP, default_timeout=60).run()
