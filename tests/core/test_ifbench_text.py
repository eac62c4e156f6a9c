"""desk's stand-ins for the NLTK tokenizers IFBench's checkers use, held against NLTK itself
(a test dependency) on generated text. Punkt's English model is NLTK data, not installable
from a package, so sentences are held against Punkt's algorithm untrained."""

from __future__ import annotations

import random

import pytest

from desk.core.ifbench_text import count_words, sentences, treebank_words, word_runs

nltk = pytest.importorskip("nltk")

# Words, marks and scripts the tokenizers treat differently: quotes of every kind,
# contractions, brackets, dashes, ellipses, numbers, combining marks, Devanagari.
PIECES = [
    "the", "Cat", "I", "A", "we'll", "don't", "can", "not", "cannot", "gonna", "'tis", "42", "3.5", "1,000",
    "hello", "Dr.", "(paren)", "[x]", "{y}", "<z>", '"quoted"', "'single'", "“curly”", "‘curly’", "«fr»",
    "--", "–", "—", "...", "…", "e\u0301", "हिन्दी", "naïve", "a_b", "x@y", "#tag", "$5", "50%", "*", "&",
]
ENDS = [".", "?", "!", "", "", "", ",", ";", ":", "...", ".)", '."', "?!", "'", '"']


def _texts(seed: int, n: int):
    rng = random.Random(seed)
    for _ in range(n):
        words = [rng.choice(PIECES) + rng.choice(ENDS) for _ in range(rng.randint(1, 14))]
        text = " ".join(words)
        if rng.random() < 0.3:
            text = text.replace(" ", "\n", 1)
        yield text


def test_treebank_words_are_nltks():
    from nltk.tokenize import NLTKWordTokenizer

    tokenizer = NLTKWordTokenizer()
    for text in _texts(1, 3000):
        assert treebank_words(text) == tokenizer.tokenize(text), text


def test_word_counts_are_nltks():
    tokenizer = nltk.tokenize.RegexpTokenizer(r"\w+")
    for text in _texts(2, 3000):
        assert word_runs(text) == tokenizer.tokenize(text), text
        assert count_words(text) == len(tokenizer.tokenize(text))


def test_sentences_follow_punkts_algorithm():
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    punkt = PunktSentenceTokenizer()  # untrained: the English model is NLTK data
    # Abbreviations are where the English model differs; words of bare punctuation ("...",
    # "—") are where desk's rules stop following Punkt's (it may split them differently).
    ordinary = [p for p in PIECES if p != "Dr." and any(c.isalnum() for c in p)]
    rng = random.Random(3)
    for _ in range(3000):
        text = " ".join(rng.choice(ordinary) + rng.choice(ENDS) for _ in range(rng.randint(1, 14)))
        assert sentences(text) == punkt.tokenize(text), text
