"""The ids a model expects before any text: its BOS token where its tokenizer adds one by itself."""

from __future__ import annotations


def leading_ids(tokenizer) -> list[int]:
    """[BOS] for models trained with one at the start of every sequence (Gemma, Llama), else [].

    Text is tokenized without special tokens everywhere (blocks cut mid-document, prompts joined
    with answers); a model such as Gemma reads a sequence without its BOS as noise, so every
    sequence fed to the model starts with these ids.
    """
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None:
        return []
    return [bos] if tokenizer("a")["input_ids"][:1] == [bos] else []
