"""The text splitting IFBench's checkers get from NLTK, redone in the standard library.

IFBench's checkers (allenai/IFBench at db69a6f) split text with NLTK. Three kinds of split
need no data and are reproduced here: ``RegexpTokenizer(r"\\w+")`` for word counts (with
the ``\\w`` of the ``regex`` engine NLTK 3.10 compiles it with, which keeps combining marks
in a word; exact on every character Python's Unicode database knows), ``nltk.ngrams``, and
the Treebank-style word tokenizer ``NLTKWordTokenizer``, whose regular expressions below are
NLTK's (Copyright NLTK Project, Apache-2.0, as of NLTK 3.10.4), run with Python's ``re``. Two need data that only
NLTK's downloader provides, so desk can only approximate them:

- sentences: ``nltk.sent_tokenize`` loads the trained English Punkt model (punkt_tab).
  `sentences` follows Punkt's algorithm (it agrees with NLTK's untrained Punkt on ordinary
  text) and knows the commonest abbreviations of the English model ("Dr.", "e.g."), but not
  the model's other abbreviations, collocations and learned capitalisation, so text with
  those may split differently. ``nltk.word_tokenize`` splits sentences first, so every
  checker using it inherits this.
- stop words: ``nltk.corpus.stopwords.words("english")``; `STOPWORDS` is a copy of that
  list made by hand, not verified against the data here.
"""

from __future__ import annotations

import re
import unicodedata

# ---- sentences (approximates Punkt's English model) -----------------------------------

# Abbreviations the English Punkt model knows: a period after them does not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs etc e.g i.e u.s u.k a.m p.m inc ltd co corp dept fig approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_CLOSERS = "\"')]}"
_ENDERS = ".?!"


def _ends_sentence(token: str, following: str) -> bool:
    core = token.rstrip(_CLOSERS)
    if not core or core[-1] not in _ENDERS:
        return False
    # Punkt breaks before a word that itself ends a sentence with more marks ("?!", '."', ".)").
    closes = (
        re.search(r"[.?!][^\w\s]+$", following) is not None
        and not following.startswith("..")
        and not following.rstrip(_CLOSERS).endswith("..")
    )
    if core.endswith(".."):  # an ellipsis ends a sentence only there, and not inside quotes
        return closes and token == core
    if core.endswith("."):
        # The word before the period as Punkt cuts words: "x@y." ends with the word "y".
        word = re.split(r"(?=[)\";}\]*:@'({\[!?])", core[:-1])[-1].lstrip("(\"`{[:;&#*@)}]-,").lower()
        if word in _ABBREVIATIONS:
            return False
        # Punkt's orthographic rule for an initial ("A. Lincoln") or a number ("42. then"):
        # no break before a lower-case word, nor after an initial before a capital.
        initial = len(word) == 1 and word.isalpha()
        if token == core and (initial or re.match(r"-?[.,]?\d[\d,.-]*$", word)):
            if not closes and (following[:1].islower() or (initial and following[:1].isupper())):
                return False
    return True


def sentences(text: str) -> list[str]:
    """Split `text` into sentences, approximating ``nltk.sent_tokenize`` (see the module docstring)."""
    out: list[str] = []
    start: int | None = None
    tokens = list(re.finditer(r"\S+", text))
    for i, m in enumerate(tokens):
        if start is None:
            start = m.start()
        if i + 1 < len(tokens) and _ends_sentence(m.group(), tokens[i + 1].group()):
            out.append(text[start : m.end()])
            start = None
    if start is not None:
        last = text[start : tokens[-1].end()]
        # Punkt's quirk at the very end: "Really?!" is two sentences, "Really?" and "!".
        if len(last) > 1 and re.search(r"([?!]|(?<!\.)\.)[?!]$", last) and last[:-1].strip() != "" and not last.endswith(".."):
            out += [last[:-1], last[-1]]
        else:
            out.append(last)
    return out


# ---- words (NLTK's Treebank-style word tokenizer) --------------------------------------

_STARTING_QUOTES = [
    (re.compile("([«“‘„]|[`]+)"), r" \1 "),
    (re.compile(r"^\""), r"``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r"([ \(\[{<])(\"|\'{2})"), r"\1 `` "),
    (re.compile(r"(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)"), r"\1 "),
]
_ENDING_QUOTES = [
    (re.compile("([»”’])"), r" \1 "),
    (re.compile(r"''"), " '' "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"\s+"), " "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
]
_PUNCTUATION = [
    (re.compile(r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*+)\s*$"), r"\1 \2 \3 "),
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}"), r" \g<0> "),
    (re.compile(r"[;@#$%&]"), r" \g<0> "),
    (re.compile(r"[\u2012-\u2015]"), r" \g<0> "),
    (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
    (re.compile(r"[*]"), r" \g<0> "),
]
_PARENS = (re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> ")
_DOUBLE_DASHES = (re.compile(r"--"), r" -- ")
_CONTRACTIONS = [
    re.compile(p)
    for p in (
        r"(?i)\b(can)(?#X)(not)\b",
        r"(?i)\b(d)(?#X)('ye)\b",
        r"(?i)\b(gim)(?#X)(me)\b",
        r"(?i)\b(gon)(?#X)(na)\b",
        r"(?i)\b(got)(?#X)(ta)\b",
        r"(?i)\b(lem)(?#X)(me)\b",
        r"(?i)\b(more)(?#X)('n)\b",
        r"(?i)\b(wan)(?#X)(na)(?=\s)",
        r"(?i) ('t)(?#X)(is)\b",
        r"(?i) ('t)(?#X)(was)\b",
    )
]


def treebank_words(sentence: str) -> list[str]:
    """``NLTKWordTokenizer().tokenize(sentence)``: one sentence's words and punctuation."""
    text = sentence
    for regexp, sub in _STARTING_QUOTES:
        text = regexp.sub(sub, text)
    for regexp, sub in _PUNCTUATION:
        text = regexp.sub(sub, text)
    for regexp, sub in (_PARENS, _DOUBLE_DASHES):
        text = regexp.sub(sub, text)
    text = " " + text + " "
    for regexp, sub in _ENDING_QUOTES:
        text = regexp.sub(sub, text)
    for regexp in _CONTRACTIONS:
        text = regexp.sub(r" \1 \2 ", text)
    return text.split()


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize``: Treebank words of each sentence (sentences approximate)."""
    return [word for sentence in sentences(text) for word in treebank_words(sentence)]


def _is_word_char(ch: str) -> bool:
    """``\\w`` of the ``regex`` engine NLTK 3.10 matches with: letters, marks, digits, connectors.

    Python's ``re`` leaves out combining marks, so it splits "हिन्दी" or a decomposed "é"."""
    category = unicodedata.category(ch)
    if category[0] in "LM" or category in ("Nd", "Nl", "Pc") or ch in "\u200c\u200d":
        return True
    # Symbols Unicode calls alphabetic: circled and squared Latin letters.
    return "\u24b6" <= ch <= "\u24e9" or any(a <= ch <= b for a, b in _ALPHABETIC_SYMBOLS)


_ALPHABETIC_SYMBOLS = (("\U0001f130", "\U0001f149"), ("\U0001f150", "\U0001f169"), ("\U0001f170", "\U0001f189"))


def word_runs(text: str) -> list[str]:
    """NLTK's ``RegexpTokenizer(r"\\w+").tokenize(text)`` (as of NLTK 3.10)."""
    runs, current = [], []
    for ch in text:
        if _is_word_char(ch):
            current.append(ch)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


def count_words(text: str) -> int:
    """IFBench's ``count_words``."""
    return len(word_runs(text))


# ---- stop words -------------------------------------------------------------------------

# NLTK's English stop-word list (the 179 words; later releases add contractions such as
# "it'd", which a \w+ token never equals).
STOPWORDS = frozenset(
    """i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
    yourselves he him his himself she she's her hers herself it it's its itself they them their
    theirs themselves what which who whom this that that'll these those am is are was were be been
    being have has had having do does did doing a an the and but if or because as until while of at
    by for with about against between into through during before after above below to from up down
    in out on off over under again further then once here there when where why how all any both
    each few more most other some such no nor not only own same so than too very s t can will just
    don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't
    doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't
    needn needn't shan shan't shouldn shouldn't wasn wasn't weren weren't won won't wouldn
    wouldn't""".split()
)


def count_stopwords(text: str) -> int:
    """IFBench's ``count_stopwords``: \\w+ tokens whose lower case is a stop word."""
    return sum(t.lower() in STOPWORDS for t in word_runs(text))
