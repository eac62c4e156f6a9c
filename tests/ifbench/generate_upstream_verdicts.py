"""Run IFBench's own checkers on tests/ifbench/cases.py (and on IFBench's test prompts) and
write upstream_verdicts.jsonl.

Run once, in a private venv with what upstream imports (not desk's):
    python -m venv /tmp/ifb-venv && /tmp/ifb-venv/bin/pip install nltk emoji syllapy immutabledict absl-py langdetect
    /tmp/ifb-venv/bin/python tests/ifbench/generate_upstream_verdicts.py PATH/TO/ifbench/upstream

PATH/TO/ifbench/upstream holds allenai/IFBench's ifbench/*.py at the commit below, unmodified,
with its data/IFBench_test.jsonl beside it (PATH/TO/ifbench/IFBench_test.jsonl).
Upstream is run as evaluation_lib.test_instruction_following_strict runs it: kwargs without
None values, an empty or blank answer follows nothing.

NLTK's data (the Punkt model, the tagger, the stop-word list) cannot be downloaded here, so
for the ids that need it a stand-in is used and the row says so ("stand_in"): nltk's
*untrained* PunktSentenceTokenizer for sent_tokenize (and so word_tokenize), and desk's copy
of the English stop-word list. Those rows pin desk's reproduction of everything around the
missing data, not the data itself; words:start_verb needs the tagger and has no rows.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import shutil
import sys
import tempfile
from pathlib import Path

COMMIT = "db69a6f"
HERE = Path(__file__).resolve().parent
OUT = HERE / "upstream_verdicts.jsonl"


def _stand_ins() -> None:
    import nltk
    import nltk.tokenize
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    nltk.download = lambda *a, **k: False  # no network: never try
    punkt = PunktSentenceTokenizer()

    def sent_tokenize(text: str, language: str = "english") -> list[str]:
        _used.add("punkt")
        return punkt.tokenize(text)

    nltk.sent_tokenize = sent_tokenize
    nltk.tokenize.sent_tokenize = sent_tokenize

    sys.path.insert(0, str(HERE.parents[1]))
    from desk.core.ifbench_text import STOPWORDS

    class Stopwords:
        def words(self, language: str) -> list[str]:
            _used.add("stopwords")
            return sorted(STOPWORDS)

    nltk.corpus.stopwords = Stopwords()


_used: set[str] = set()


def main(upstream: Path) -> None:
    _stand_ins()
    work = Path(tempfile.mkdtemp())
    shutil.copytree(upstream, work / "ifbench", ignore=shutil.ignore_patterns("LICENSE", "SOURCE"))
    sys.path.insert(0, str(work))
    from ifbench import instructions_registry

    sys.path.insert(0, str(HERE))
    from cases import CASES, GENERIC

    # Besides the written answers: each prompt of IFBench's test set, cut to 300 characters,
    # as an answer to its own instructions with their real kwargs.
    real = []
    for line in (upstream.parent / "IFBench_test.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        for kind, kwargs in zip(record["instruction_id_list"], record["kwargs"], strict=True):
            real.append((kind, {k: v for k, v in kwargs.items() if v is not None}, record["prompt"][:300]))
    written = [
        (kind, kwargs, a) for kind, (kwargs, answers) in sorted(CASES.items()) for a in [*answers, *GENERIC, "", "  \n"]
    ]
    rows = []
    for kind, kwargs, answer in [*written, *real]:
        _used.clear()
        checker = instructions_registry.INSTRUCTION_DICT[kind](kind)
        clean = {k: v for k, v in kwargs.items() if v is not None}
        try:
            checker.build_description(**clean)
            args = checker.get_instruction_args()
            if args and "prompt" in args:  # no IFBench id asks for its prompt; kept as upstream runs
                raise RuntimeError(f"{kind} wants its prompt")
            verdict = bool(answer and answer.strip() and checker.check_following(answer))
            error = None
        except LookupError:  # NLTK data with no stand-in (the tagger)
            continue
        except Exception as e:  # upstream raises: evaluation would stop; recorded as not followed
            verdict, error = False, f"{type(e).__name__}: {e}"
        row = {"id": kind, "kwargs": kwargs, "answer": answer, "upstream": verdict}
        if _used:
            row["stand_in"] = sorted(_used)
        if error:
            row["upstream_raised"] = error
        rows.append(row)
    versions = {p: md.version(p) for p in ("nltk", "emoji", "syllapy")}
    header = {
        "upstream": f"allenai/IFBench@{COMMIT}",
        "mode": "strict",
        "versions": versions,
        "stand_ins": {
            "punkt": "nltk.tokenize.punkt.PunktSentenceTokenizer() untrained, for nltk.sent_tokenize",
            "stopwords": "desk.core.ifbench_text.STOPWORDS for nltk.corpus.stopwords.words('english')",
        },
    }
    with OUT.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"header": header}, ensure_ascii=False) + "\n")
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} rows for {len({r['id'] for r in rows})} ids -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
