"""Whether a model takes images, from its vendor's model family (issue 14: a judge is shown
the task's images only when its model takes them). None: not known from the name, so the
caller must not guess (the user says so per model, or desk withholds them and says why)."""

from __future__ import annotations

import re

# (pattern on the lower-cased model name, takes images). First match wins: the exceptions
# of a family come before the family.
_FAMILIES: tuple[tuple[str, bool], ...] = (
    # OpenAI
    (r"^(gpt-3\.5|o1-mini|o3-mini|gpt-4-0613$|gpt-4$|gpt-4-32k)", False),
    (r"^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-4-turbo|gpt-4-vision|o1($|-\d)|o3($|-\d|-pro)|o4-mini)", True),
    # Anthropic: every Claude from 3 on
    (r"^claude-(2|instant)", False),
    (r"^claude-", True),
    # Google Gemini
    (r"^(models/)?gemini-(1\.0-pro|pro$)|embedding", False),
    (r"^(models/)?gemini-", True),
    # Open-weight families as Ollama and llama.cpp name them
    (r"gemma3:?(270m|1b)|gemma-3-(270m|1b)", False),
    (r"llava|bakllava|vision|moondream|minicpm-v|qwen2(\.5)?-?vl|gemma3|gemma-3|llama4|mistral-small3\.[12]", True),
)


def family_takes_images(model: str) -> bool | None:
    """True or False when `model`'s family is known to take images or not, else None."""
    name = model.strip().lower()
    for pattern, takes in _FAMILIES:
        if re.search(pattern, name):
            return takes
    return None
