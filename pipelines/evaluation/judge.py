"""WHP's completion-familiarity rubric, its score, and the offline rule judge."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Which judge rates completions: auto is the LLM judge when an endpoint is set, else the rules.
JUDGES = ("auto", "rules", "llm")

CATEGORIES = {
    1: "names or details unique to the target",
    2: "typical target themes the prompt does not hint at",
    3: "accidental familiarity",
    4: "no familiarity",
}
RULE_JUDGE = "rules (offline)"


@dataclass(frozen=True)
class Verdict:
    category: int
    rationale: str
    judge: str


def familiarity_score(categories: Sequence[int]) -> float:
    """WHP's completion familiarity: (5·n1 + n2) / (5·N); 0 = nothing familiar, 1 = all cat. 1."""
    if not categories:
        raise ValueError("no verdicts to score")
    counts = Counter(categories)
    return (5 * counts[1] + counts[2]) / (5 * len(categories))


def _mentions(term: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE) is not None


def distinctive_words(forget: Iterable[str], retain: Iterable[str], top: int = 40) -> list[str]:
    """Words far more frequent in the forget text than in the retain text: the target's themes."""

    def counts(texts):
        return Counter(w.lower() for t in texts for w in re.findall(r"[A-Za-z]{4,}", t))

    ours, theirs = counts(forget), counts(retain)
    total_ours, total_theirs = sum(ours.values()) or 1, sum(theirs.values()) or 1

    def ratio(word: str) -> float:
        return (ours[word] / total_ours) / ((theirs[word] + 1) / total_theirs)

    frequent = [w for w, n in ours.items() if n >= 3]
    return sorted(frequent, key=ratio, reverse=True)[:top]


class RuleJudge:
    """A transparent stand-in for the LLM judge, so the loop works with no LLM.

    1: the completion names a term unique to the target (an anchor, or the known fact the prompt
    asks for) that the prompt did not contain; 2: it uses the target's distinctive words that
    the prompt did not; 3: it only repeats target terms the prompt gave; 4: none of these.
    """

    name = RULE_JUDGE

    def __init__(self, unique_terms: Iterable[str], theme_words: Iterable[str] = ()):
        self.unique_terms = sorted({t for t in unique_terms if t}, key=len, reverse=True)
        self.theme_words = list(theme_words)

    def judge(self, prompt: str, completion: str, expected: str = "") -> Verdict:
        terms = [expected, *self.unique_terms] if expected else self.unique_terms
        named = [t for t in terms if _mentions(t, completion)]
        new = [t for t in named if not _mentions(t, prompt)]
        if new:
            return self._verdict(1, f"names {', '.join(new[:3])}, not given by the prompt")
        themes = [
            w for w in self.theme_words if _mentions(w, completion) and not _mentions(w, prompt)
        ]
        if themes:
            return self._verdict(2, f"uses the target's themes ({', '.join(themes[:3])})")
        if named:
            return self._verdict(3, f"only repeats {', '.join(named[:3])} from the prompt")
        return self._verdict(4, "nothing specific to the target")

    def _verdict(self, category: int, rationale: str) -> Verdict:
        return Verdict(category, rationale, self.name)


class LLMVerdictReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Literal[1, 2, 3, 4]
    rationale: str = Field(max_length=400)


def rubric(target: str = "") -> str:
    """WHP's rubric as the judge's system prompt."""
    lines = "\n".join(f"{n}: {text}" for n, text in CATEGORIES.items())
    about = f" The target text: {target}." if target else ""
    return (
        "You grade whether a language model's completion shows knowledge of a target text it "
        f"should have forgotten.{about} Read the prompt and the completion and choose one "
        f"category:\n{lines}\nCategory 1 needs a name or detail unique to the target that the "
        "prompt did not give; category 2 typical themes of the target the prompt did not hint "
        "at; category 3 familiarity that looks accidental. Give the category and a one-sentence "
        "rationale."
    )


class LLMJudge:
    """The rubric through an OpenAI-compatible endpoint; a failed call falls back to the rules."""

    def __init__(self, client, target: str = "", fallback: RuleJudge | None = None):
        self.client = client
        self.system = rubric(target)
        self.fallback = fallback
        self.name = f"llm ({client.settings.model})"
        self.failures: list[str] = []

    def judge(self, prompt: str, completion: str, expected: str = "") -> Verdict:
        from pipelines.llm import LLMFailure

        user = f"Prompt: {prompt}\nCompletion: {completion}"
        if expected:
            user += f"\nThe target-specific answer would be: {expected}"
        try:
            reply, _ = self.client.structured("judge", self.system, user, LLMVerdictReply)
        except LLMFailure as err:
            self.failures.append(str(err))
            if self.fallback is None:
                raise
            verdict = self.fallback.judge(prompt, completion, expected)
            return Verdict(verdict.category, f"{verdict.rationale} (LLM failed: {err})",
                           verdict.judge)  # fmt: skip
        return Verdict(reply.category, reply.rationale, self.name)
