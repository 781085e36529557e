"""A table people edit across reloads: rows typed or changed but not yet saved are kept as the
person's server-side draft, restored on their next visit, and dropped once saved."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from pipelines.store.drafts import drop_draft, load_draft, save_draft


@dataclass(frozen=True)
class DraftedTable:
    store: object
    actor: object
    project_id: int
    kind: str  # the draft kind, one per table
    prefix: str  # of the table's session-state keys

    def _key(self, what: str) -> str:
        return f"{self.prefix}_{what}_{self.project_id}"

    @property
    def editor_key(self) -> str:
        return self._key("editor")

    def rows(self, stored: list[dict], added: dict | None) -> list[dict]:
        """The rows the editor starts from: the person's draft, else the stored rows; a row
        just typed in the add form joins them (and so the draft) at once."""
        base, kept = self._key("base"), self._key("kept")
        if base not in st.session_state:
            draft = load_draft(self.store, self.actor, self.kind, self.project_id)
            st.session_state[base] = draft["rows"] if draft is not None else stored
            st.session_state[kept] = st.session_state[base]
        if added:
            st.session_state[base] = st.session_state[kept] + [added]
            st.session_state.pop(self.editor_key, None)
        return st.session_state[base]

    def keep(self, stored: list[dict], now: list[dict]) -> None:
        """Store every edit as it is made: the draft holds what differs from the stored rows."""
        kept = self._key("kept")
        if now == st.session_state[kept]:
            return
        if now == stored:
            drop_draft(self.store, self.actor, self.kind, self.project_id)
        else:
            save_draft(self.store, self.actor, self.project_id, self.kind, self.project_id,
                       {"rows": now})  # fmt: skip
        st.session_state[kept] = now

    def saved(self) -> None:
        """The rows were saved: drop the draft; the next run edits the new stored rows."""
        drop_draft(self.store, self.actor, self.kind, self.project_id)
        for what in ("base", "kept", "editor"):
            st.session_state.pop(self._key(what), None)
