"""The Trials tab's model (desk.engine.trials_tab) without a window: validation before a send,
live figures as answers stream, cancel, one model failing beside others, a follow-up, and
opening a past trial, against the loopback vendor. No QApplication here: the model must not
need Qt."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from desk.core.pricing import Price
from desk.core.response import ErrorKind, ResponseResult, Status
from desk.core.trial import MAX_PROMPT_CHARS, GenerationSettings, TrialInput, Variant
from desk.engine.answer_figures import live_status, metrics_line
from desk.engine.session import TrialOutcome
from desk.engine.trials_tab import (
    EMPTY_PROMPT,
    GONE,
    MAX_OPEN_PANES,
    NO_MODELS_PICKED,
    STILL_READING,
    STILL_RUNNING,
    PlanError,
    TrialsTab,
    composed,
    ended,
)
from tests.engine.conftest import MODELS, TEXT, engine_for, ref, run_many, script_for
from tests.vendor_server import Script


class Seen:
    """What the tab's events said, in order."""

    def __init__(self, tab: TrialsTab) -> None:
        self.events: list[tuple[str, str]] = []
        self.running: list[bool] = []
        self.deltas: dict[str, list[str]] = {}
        tab.running_changed.connect(self.running.append)
        tab.cleared.connect(lambda: self.events.append(("cleared", "")))
        tab.response_started.connect(lambda r: self.events.append(("started", r.model)))
        tab.text_received.connect(lambda r, d: self.deltas.setdefault(r.id, []).append(d))
        tab.attempt_failed.connect(lambda r, a: self.events.append(("retry", r.model)))
        tab.response_finished.connect(lambda r: self.events.append(("finished", r.model)))


def test_the_model_imports_no_qt():
    code = "import sys, desk.engine.trials_tab; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_compose_panel_reads_as_a_trial_and_its_variants():
    assert composed("p", ["  "]) == (TrialInput("p"), None)  # a blank system prompt is none
    assert composed("p", ["sys"]) == (TrialInput("p", "sys"), None)
    trial, variants = composed("p", ["short", " "])  # two tabs: variants A and B, blank is none
    assert trial == TrialInput("p") and variants == [Variant("A", "short"), Variant("B", None)]


def test_a_send_says_why_it_cannot_go(providers, vendor):
    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            ok = TrialInput("Say hello.")
            with pytest.raises(PlanError, match=f"^{STILL_READING}$"):
                tab.plan(ok, [ref("openai")], reading=True)  # the attachments would be missing
            with pytest.raises(PlanError, match=f"^{NO_MODELS_PICKED}$"):
                tab.plan(ok, [])
            with pytest.raises(PlanError, match=f"^{EMPTY_PROMPT}$"):
                tab.plan(TrialInput("  \n "), [ref("openai")])
            big = "x" * (MAX_PROMPT_CHARS + 1)
            # the one limit of core, for the prompt and for each variant's system prompt
            with pytest.raises(PlanError, match=r"^the prompt is 5,000,001 characters, more than the 5,000,000"):
                tab.plan(TrialInput(big), [ref("openai")])
            with pytest.raises(PlanError, match=r"^the system prompt B is 5,000,001 characters"):
                tab.plan(ok, [ref("openai")], variants=[Variant("A", None), Variant("B", big)])
            with pytest.raises(PlanError, match=r"^unknown provider 'nope' \(of nope/m\): add it in Providers"):
                tab.plan(ok, [ref("openai"), ref("openai", "m", name="nope")])
            plan = tab.plan(ok, [ref("openai"), ref("gemini")], variants=[Variant("A", "be brief"), Variant("B", None)])
            assert plan.answers == 4 and plan.parent_trial_id is None
            assert tab.run_again_plan(ok) is None  # no trial is open: nothing to follow up
            tab.begin(plan)
            with pytest.raises(PlanError, match="still running"):
                tab.plan(ok, [ref("openai")])  # one send at a time
            with pytest.raises(PlanError, match=f"^{STILL_RUNNING}$"):
                tab.open("any")
            assert not tab.new_trial()
            tab.end()

    asyncio.run(go())
    assert vendor.requests == []  # nothing refused was sent


def test_a_send_streams_live_figures_and_one_failure_leaves_the_others(providers, vendor):
    script_for(vendor, "openai", Script(text_pieces=["one ", "two ", "three"], first_token_delay_ms=50))
    script_for(vendor, "anthropic", Script(status=400, error_message="bad request, go away"))
    script_for(vendor, "gemini", Script(text_pieces=["g"]))
    models = [ref("openai"), ref("anthropic"), ref("gemini")]
    providers.prices.set("openai", MODELS["openai"], Price(2.0, 4.0))

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            seen = Seen(tab)
            live: list[tuple[float | None, int, bool, str]] = []

            def on_text(result, delta):
                f = tab.figures[result.id]
                live.append((f.ttft_ms, f.chars, f.streaming, f.status()))
                assert f.chars_per_s() is not None and f.chars_per_s() > 0 and f.tokens_per_s is None

            tab.text_received.connect(on_text)
            plan = tab.plan(TrialInput("Say hello."), models,
                            {ref("openai"): GenerationSettings(temperature=0.2)})
            tab.begin(plan)
            assert tab.expected == 3 and tab.running and seen.running == [True]
            outcome = await tab.run(plan)
            assert tab.current_trial_id is None  # opened once the window has drawn it all: finished
            end = tab.finished(outcome, "Ctrl+R")
            tab.end()
            return tab, seen, live, outcome, end

    tab, seen, live, outcome, end = asyncio.run(go())
    assert seen.running == [True, False] and not tab.running
    assert seen.events[0] == ("cleared", "") and sorted(e for e in seen.events if e[0] == "started") == sorted(
        ("started", str(m)) for m in models)
    assert {e for e in seen.events if e[0] == "finished"} == {("finished", str(m)) for m in models}
    by_model = {r.model: r for r in outcome.responses}
    ok, bad = by_model[str(ref("openai"))], by_model[str(ref("anthropic"))]
    assert ok.status == Status.OK and ok.text == "one two three"
    assert bad.status == Status.ERROR and bad.text == ""  # the failure is its own; the others go on
    assert by_model[str(ref("gemini"))].status == Status.OK
    # while streaming: TTFT measured at the first text, characters counted, a live line
    openai_live = [x for x in live if x[1] and x[3].startswith("streaming")]
    assert openai_live and all(t is not None and t > 0 for t, *_ in openai_live)
    assert any(chars == len("one two ") and streaming and line.startswith("streaming · 8 characters · ")
               for _t, chars, streaming, line in live)
    # once done: the recorded figures, every answer finished
    figures = tab.figures[ok.id]
    assert figures.finished and not tab.streaming_ids() and tab.done_count() == 3
    assert figures.ttft_ms == ok.ttft_ms and figures.tokens_per_s == ok.output_tokens_per_s
    assert figures.cost_usd == ok.cost_usd == pytest.approx((12 * 2.0 + 4 * 4.0) / 1e6)  # priced as it ended
    assert figures.status() == metrics_line(ok) and figures.status().endswith(" · $0.000040")
    assert tab.figures[bad.id].tokens_per_s is None
    assert tab.current_trial_id == outcome.trial_id and tab.open_models == models
    assert end.status == "Trial done: 2 of 3 answers ok, 1 failed; stored · Ctrl+R rates them" and end.problem is None
    assert tab.progress_text("Esc") == "Streaming: 3 of 3 answers done · Esc cancels"
    assert providers.responses.get(ok.id).settings["temperature"] == 0.2  # the plan's settings were sent


def test_a_retry_is_announced_and_its_wait_said(providers, vendor):
    script_for(vendor, "openai", Script(status=429, error_message="slow down", headers={"Retry-After": "0"}),
               Script(text_pieces=["after"]))

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            seen = Seen(tab)
            plan = tab.plan(TrialInput("hi"), [ref("openai")])
            tab.begin(plan)
            outcome = await tab.run(plan)
            tab.end()
            return seen, outcome

    seen, outcome = asyncio.run(go())
    assert ("retry", str(ref("openai"))) in seen.events and outcome.responses[0].text == "after"
    assert live_status(None, 1.25, 0, 0.0) == "waiting for the first token · 1.2 s"


def test_cancel_stops_every_stream_and_keeps_what_arrived(providers, vendor):
    script_for(vendor, "openai", Script(text_pieces=[f"w{i} " for i in range(200)], interval_ms=20))
    script_for(vendor, "gemini", Script(text_pieces=[f"g{i} " for i in range(200)], interval_ms=20))

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            seen = Seen(tab)
            three = asyncio.Event()
            tab.text_received.connect(lambda r, d: three.set() if sum(map(len, seen.deltas.values())) >= 3 else None)
            plan = tab.plan(TrialInput("long"), [ref("openai"), ref("gemini")])
            tab.begin(plan)
            task = asyncio.ensure_future(tab.run(plan))
            await asyncio.wait_for(three.wait(), 5)
            assert len(tab.streaming_ids()) == 2
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            tab.end()
            return tab, seen

    tab, seen = asyncio.run(go())
    assert not tab.running and seen.running == [True, False]
    assert tab.current_trial_id is None  # a cancelled send opens nothing; it is stored though
    for rid, figures in tab.figures.items():
        assert figures.finished and figures.result.error_kind == ErrorKind.CANCELLED
        stored = providers.responses.get(rid)
        assert stored.status == Status.INTERRUPTED and stored.text == "".join(seen.deltas.get(rid, []))


def test_opening_a_past_trial_and_following_it_up(providers, vendor):
    trial_id, results = run_many(providers, [ref("openai"), ref("ollama")], TrialInput("first", "sys"))

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            with pytest.raises(PlanError, match=f"^{GONE}$"):
                tab.open("no-such-trial")
            generation = tab.generation
            opened = tab.open(trial_id)
            assert tab.generation == generation + 1 and tab.current_trial_id == trial_id
            follow = tab.run_again_plan(TrialInput("second"))
            assert follow is not None and follow.parent_trial_id == trial_id
            assert list(follow.models) == [ref("openai"), ref("ollama")]
            tab.begin(follow)
            outcome = await tab.run(follow)
            tab.finished(outcome, "Ctrl+R")
            tab.end()
            return tab, opened, outcome

    tab, opened, outcome = asyncio.run(go())
    assert opened.stored.input == TrialInput("first", "sys") and opened.variants == []
    assert opened.models == [ref("openai"), ref("ollama")]
    assert [r.id for r in opened.responses] == [r.id for r in results]
    assert opened.text.startswith(f"Opened trial {trial_id} · 2 answers · slowest total ")
    assert tab.current_trial_id == outcome.trial_id != trial_id
    assert providers.trials.get(outcome.trial_id).parent_trial_id == trial_id
    assert all(r.text == TEXT for r in outcome.responses)
    assert tab.new_trial() and tab.current_trial_id is None and tab.figures == {}


def test_a_load_run_sized_trial_is_not_opened_here(providers, vendor):
    vendor.set_default(MODELS["openai"], Script(text_pieces=["x"]))
    trial_id, _ = run_many(providers, [ref("openai", f"m{i}") for i in range(MAX_OPEN_PANES + 1)])

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            with pytest.raises(PlanError, match="holds 201 answers \\(a load run\\)"):
                tab.open(trial_id)
            assert tab.current_trial_id is None

    asyncio.run(go())


def test_a_variant_trial_reopens_with_its_variants(providers, vendor):
    variants = [Variant("A", "be brief"), Variant("B", "be long")]

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            plan = tab.plan(TrialInput("v"), [ref("openai")], variants=variants)
            tab.begin(plan)
            outcome = await tab.run(plan)
            tab.end()
            other = TrialsTab(engine)
            return outcome, other.open(outcome.trial_id)

    outcome, opened = asyncio.run(go())
    assert opened.stored.id == outcome.trial_id
    assert opened.variants == variants and len(opened.responses) == 2 and opened.models == [ref("openai")]


def test_retrying_one_answer_sends_it_alone_as_a_follow_up(providers, vendor):
    script_for(vendor, "anthropic", Script(status=400, error_message="not today"))
    variants = [Variant("A", "be brief"), Variant("B", "be long")]

    async def go():
        async with engine_for(providers) as engine:
            tab = TrialsTab(engine)
            with pytest.raises(PlanError, match="not in the open trial"):
                tab.retry_plan("nothing-open")
            plan = tab.plan(TrialInput("retry me"), [ref("openai"), ref("anthropic")], variants=variants)
            tab.begin(plan)
            first = await tab.run(plan)
            tab.finished(first, "Ctrl+R")
            tab.end()
            failed = next(r for r in first.responses if r.status != Status.OK)
            retry = tab.retry_plan(failed.id)
            assert retry.models == (ref("anthropic"),) and retry.variants == (failed.variant,)
            assert retry.parent_trial_id == first.trial_id and retry.answers == 1
            before = len(vendor.requests)
            tab.begin(retry)
            again = await tab.run(retry)
            assert len(vendor.requests) == before + 1  # that answer alone
            tab.finished(again, "Ctrl+R")
            tab.end()
            return first, failed, again

    first, failed, again = asyncio.run(go())
    assert failed.variant is not None and len(again.responses) == 1
    (answer,) = again.responses
    assert answer.status == Status.OK and answer.model == failed.model and answer.variant == failed.variant
    assert providers.trials.get(again.trial_id).parent_trial_id == first.trial_id
    sent = json.dumps(vendor.requests[-1].json)
    assert failed.variant.system in sent and "retry me" in sent


def test_an_answer_shown_but_not_stored_is_said_instead_of_stored():
    ok = ResponseResult("r1", "t", "openai/m", {}, status=Status.OK)
    lost = ResponseResult("r2", "t", "gemini/m", {}, status=Status.OK, store_error="disk full")
    end = ended(TrialOutcome("t", [ok, lost]), "Ctrl+R")
    assert end.status == "Trial done: 2 of 2 answers ok; stored · Ctrl+R rates them"
    assert end.problem == "gemini/m: disk full"
