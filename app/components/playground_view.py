"""The playground's parts: the prompt box kept as a draft, and the live side-by-side answers."""

from __future__ import annotations

import streamlit as st

from pipelines.evaluation import playground
from pipelines.store.drafts import load_draft, save_draft

TYPE_YOUR_OWN = "(type your own)"


def prompt_box(store, actor, project, prompts) -> tuple[list[str], str]:
    """The prompts (blank-line separated) and the expected answer; typed text survives reloads."""
    text_key, expected_key = f"pg_text_{project.id}", f"pg_expected_{project.id}"
    if text_key not in st.session_state:
        draft = load_draft(store, actor, playground.DRAFT_KIND, project.id) or {}
        st.session_state[text_key] = draft.get("text", "")
        st.session_state[expected_key] = draft.get("expected", "")

    def keep() -> None:
        payload = {"text": st.session_state[text_key], "expected": st.session_state[expected_key]}
        save_draft(store, actor, project.id, playground.DRAFT_KIND, project.id, payload)

    def pick() -> None:
        chosen = st.session_state[f"pg_pick_{project.id}"]
        found = {p.prompt: p for p in prompts}.get(chosen)
        if found is not None:
            st.session_state[text_key] = found.prompt
            st.session_state[expected_key] = found.expected
            keep()

    st.selectbox("Evaluation prompt", [TYPE_YOUR_OWN, *(p.prompt for p in prompts)],
                 key=f"pg_pick_{project.id}", on_change=pick)  # fmt: skip
    several = "Separate several prompts with a blank line; they decode in one batch."
    st.text_area("Prompt", key=text_key, on_change=keep, height=140, help=several)
    st.text_input("Expected answer (optional)", key=expected_key, on_change=keep,
                  help="Each model's probability of its first token is shown.")  # fmt: skip
    return playground.split_prompts(st.session_state[text_key]), st.session_state[expected_key]


@st.fragment(run_every=1.0)
def live_answers(key: str) -> None:
    """Progress while the models decode, then each prompt's answers in a column per model."""
    decoding: playground.Decoding | None = st.session_state.get(key)
    if decoding is None:
        return
    if decoding.finished and not decoding.announced:
        decoding.announced = True
        st.rerun()  # the whole page, so that the Complete button is enabled again
    fraction, what = decoding.progress()
    if not decoding.finished:
        st.progress(fraction, text=what)
    if decoding.error:
        st.error(f"Decoding stopped: {decoding.error}")
    by_prompt: dict[str, list[playground.Answer]] = {}
    for answer in decoding.results:
        by_prompt.setdefault(answer.prompt, []).append(answer)
    for prompt, found in by_prompt.items():
        st.markdown("**Prompt**")
        st.text(prompt)
        for column, answer in zip(st.columns(len(found)), found, strict=True):
            with column.container(border=True):
                st.markdown(f"**{answer.model}**")
                st.text(answer.completion.strip() or "(nothing)")
                if answer.probability is not None:
                    st.caption(f"P(expected) = {answer.probability:.4f}")
    if decoding.finished and decoding.results:
        st.download_button("Download as CSV", _csv(decoding), file_name="playground.csv",
                           key=f"{key}_csv")  # fmt: skip


def _csv(decoding: playground.Decoding) -> str:
    import pandas as pd

    return pd.DataFrame(playground.side_by_side(decoding.results)).to_csv(index=False)
