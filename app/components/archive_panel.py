"""Backups, project exports and imports from the pages, with a progress bar, for those whose
role allows them (the same archive code and checks as `unlearn backup|export|import`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import streamlit as st

from pipelines.store import archive
from pipelines.types import UnlearnError

DOWNLOAD_LIMIT = 200 * 2**20  # larger archives stay on the server; the page gives the path


def _archives_dir(store) -> Path:
    folder = store.settings.home / "archives"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _bar(what: str):
    bar = st.progress(0.0, text=what)
    return lambda done, total: bar.progress(min(1.0, done / max(1, total)), text=what)


def _offer(path: Path, key: str) -> None:
    """A download button for the archive just written, or its path when it is too big."""
    size = path.stat().st_size
    if size > DOWNLOAD_LIMIT:
        st.info(f"{size / 2**20:,.0f} MB: too big to download here; it is on the server at {path}.")
        return
    st.download_button(f"Download {path.name} ({size / 2**20:,.1f} MB)", path.read_bytes(),
                       file_name=path.name, mime="application/zip", key=key)  # fmt: skip


def backup_panel(store, actor) -> None:
    """The whole store (every project, person and audit event) as one archive."""
    st.caption("Restore it into an empty store with `unlearn restore FILE`.")
    if st.button("Make a backup now", key="backup_make"):
        out = _archives_dir(store) / f"backup-{datetime.now():%Y%m%d-%H%M%S}.zip"
        try:
            manifest = archive.backup(store, actor, out, _bar("Writing the backup…"))
        except UnlearnError as err:
            st.error(str(err))
            return
        st.success(f"Backed up {sum(manifest['tables'].values()):,} rows to {out}.")
        st.session_state["backup_last"] = str(out)
    last = st.session_state.get("backup_last")
    if last and Path(last).is_file():
        _offer(Path(last), "backup_download")


def export_panel(store, actor, project) -> None:
    """One project, its people's work and its folder, as an archive another store imports."""
    key = f"export_last_{project.id}"
    if st.button(f"Export {project.name}", key=f"export_make_{project.id}"):
        out = _archives_dir(store) / f"{project.name}-{datetime.now():%Y%m%d-%H%M%S}.unlearn.zip"
        try:
            archive.export_project(store, actor, project.id, out, _bar("Writing the export…"))
        except UnlearnError as err:
            st.error(str(err))
            return
        st.session_state[key] = str(out)
    last = st.session_state.get(key)
    if last and Path(last).is_file():
        _offer(Path(last), f"export_download_{project.id}")


def import_panel(store, actor) -> int | None:
    """A project export uploaded and added under its name (or a new one); the new project's id."""
    upload = st.file_uploader("A project export (.zip)", type=["zip"], key="import_file")
    name = st.text_input("Name it (empty: the name it was exported with)", key="import_name")
    if not st.button("Import the project", key="import_go", disabled=upload is None):
        return None
    staged = _archives_dir(store) / f".upload-{datetime.now():%Y%m%d-%H%M%S%f}.zip"
    try:
        staged.write_bytes(upload.getvalue())
        with st.spinner("Importing…"):
            return archive.import_project(store, actor, staged, name.strip() or None)
    except UnlearnError as err:
        st.error(str(err))
        return None
    finally:
        staged.unlink(missing_ok=True)
