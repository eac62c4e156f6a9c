"""A model judges answers (issue 14): the judge prompt, judge runs, and agreement with people.

A judge run sends each answer of a suite run (or a trial) to the judge model with what a
blind rater sees, under a JSON schema made from the rubric. Its verdicts are ratings by
"judge:PROVIDER/MODEL" (never counted as a person's), each with the prompt version and its
rationale; a reply that is not a verdict is a judge error with its raw text. The judge's
own requests are ordinary responses tagged with the judge run, so their tokens, latency and
cost are kept like any other and they stay out of the trial history. An answer a judge has
a verdict or an error for is never sent to it again: a run stopped midway resumes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from desk.core.judge import (
    JudgePrompt,
    VerdictError,
    is_machine,
    judge_input,
    judge_rater,
    judge_temperature,
    missing_validator,
    parse_verdict,
    verdict_schema,
)
from desk.core.judge_agreement import AgreementReport, agreement_report
from desk.core.judged_rates import (
    JudgedRate,
    OversightPlan,
    ValidatedCost,
    judged_rates,
    oversight_plan,
    validated_costs,
)
from desk.core.ppi import FIGURES, calibration_order
from desk.core.response import ResponseResult, Status
from desk.core.rubric import Rubric
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine.errors import EngineError
from desk.engine.ports.judges import CalibrationDraws, JudgePrompts, RunLinks, Verdicts
from desk.engine.ports.ratings import RatingReader, RubricReader
from desk.engine.ports.runs import Runs
from desk.engine.ports.targets import Targets
from desk.engine.ports.trials import Responses, Trials
from desk.engine.runner import ResponseSink, Runner
from desk.engine.suite_records import QueueItem
from desk.store.errors import StoreError

JUDGE_RUN_KIND = "judge"
DEFAULT_CONCURRENCY = 4
JUDGE_TEMPERATURE = 0.0  # judging is deterministic unless the user asks otherwise (None: the vendor's default)
Progress = Callable[[int, int], None]  # (answers done, answers to judge)


@dataclass
class JudgeSummary:
    """What one `desk judge` did: its run (the judge's requests), and per answer in scope
    whether it got a verdict, a judge error, was judged before, or has nothing to judge."""

    run_id: str
    judge: str
    prompt_version: int
    verdicts: int = 0
    errors: int = 0
    already: int = 0  # judged by this judge before (a resumed run): not sent again
    failed_answers: int = 0  # the answer itself failed: nothing to judge
    error_messages: list[str] = field(default_factory=list)
    images_sent: int = 0  # answers whose task had images, shown to the judge
    images_withheld: int = 0  # ... not shown to it (see images_reason)
    images_reason: str = ""  # why the judge was shown the images or not
    temperature: float | None = None  # the judge's temperature (None: its vendor's default)


@dataclass(frozen=True)
class _Job:
    response_id: str
    task: TrialInput
    answer: str
    retry: bool = False  # its earlier request to the judge failed: its error row is replaced


class JudgeService:
    """`run_answers(run_id)` lists a suite run's (case, sample) items; `recorder()` a fresh
    sink that stores responses as they stream."""

    def __init__(self, prompts: JudgePrompts, verdicts: Verdicts, calibration: CalibrationDraws, *, trials: Trials, answers: Responses,
                 ratings: RatingReader, rubrics: RubricReader, runs: Runs, links: RunLinks, targets: Targets,
                 runner: Runner, recorder: Callable[[], ResponseSink],
                 run_answers: Callable[[str], list[QueueItem]],
                 takes_images: Callable[[ModelRef], Awaitable[tuple[bool | None, str]]]) -> None:
        self.verdicts = verdicts
        self._takes_images = takes_images
        self._draws = calibration
        self.prompts = prompts
        self._trials = trials
        self._answers = answers
        self._ratings = ratings
        self._rubrics = rubrics
        self._runs = runs
        self._links = links
        self._targets = targets
        self._runner = runner
        self._recorder = recorder
        self._run_answers = run_answers

    def set_prompt(self, template: str) -> JudgePrompt:
        """Store an edited judge prompt as its next version (the old verdicts keep theirs)."""
        try:
            return self.prompts.save_version(template)
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    async def judge_run(self, run_id: str, judge: ModelRef, *, concurrency: int = DEFAULT_CONCURRENCY,
                        images: bool | None = None, temperature: float | None = JUDGE_TEMPERATURE,
                        retry_failed: bool = False, progress: Progress | None = None) -> JudgeSummary:
        """Judge every answer of suite run `run_id` not judged by `judge` yet. `images`:
        send the tasks' images (None: if the judge model takes images, see images_decision).
        `retry_failed`: send again the answers whose request to the judge failed (a reply
        that was no verdict stays a judge error: asking until one passes would pick verdicts)."""
        trial_ids = [item.trial_id for item in self._run_answers(run_id)]
        if not trial_ids:
            raise EngineError(f"no suite run {run_id} with answers to judge")
        return await self._judge(trial_ids, judge, {"run_id": run_id}, concurrency, images, temperature,
                                 retry_failed, progress)

    async def judge_trial(self, trial_id: str, judge: ModelRef, *, concurrency: int = DEFAULT_CONCURRENCY,
                          images: bool | None = None, temperature: float | None = JUDGE_TEMPERATURE,
                          retry_failed: bool = False, progress: Progress | None = None) -> JudgeSummary:
        """Judge every answer of trial `trial_id` not judged by `judge` yet (as judge_run)."""
        if self._trials.get(trial_id) is None:
            raise EngineError(f"no trial {trial_id}")
        return await self._judge([trial_id], judge, {"trial_id": trial_id}, concurrency, images, temperature,
                                 retry_failed, progress)

    async def _judge(self, trial_ids: Sequence[str], judge: ModelRef, scope: dict[str, Any], concurrency: int,
                     images: bool | None, temperature: float | None, retry_failed: bool,
                     progress: Progress | None) -> JudgeSummary:
        if concurrency < 1:
            raise EngineError("concurrency must be at least 1")
        if (missing := missing_validator()) is not None:  # said before anything is sent
            raise EngineError(missing)
        await self._targets.prepare([judge.provider])
        rater = judge_rater(str(judge))
        prompt, rubric = self.prompts.default(), self._rubrics.default()
        schema = verdict_schema(rubric)
        temperature = judge_temperature(judge.model, temperature)
        try:
            settings = GenerationSettings(temperature=temperature, response_schema=schema)
        except ValueError as exc:
            raise EngineError(str(exc)) from None
        target = self._targets.target(judge, settings)
        jobs, already, failed = self._jobs(trial_ids, rater, retry_failed)
        run_id = self._runs.create(JUDGE_RUN_KIND, {**scope, "judge": str(judge), "models": [str(judge)], "prompt_id": prompt.id,
                                                    "rubric_id": rubric.id, "concurrency": concurrency,
                                                    "temperature": temperature, "images": images})
        summary = JudgeSummary(run_id, rater, prompt.version, already=already, failed_answers=failed,
                               temperature=temperature)
        send_images, summary.images_reason = await self.images_decision(judge, images)
        gate, done = asyncio.Semaphore(concurrency), 0

        async def one(seq: int, job: _Job) -> None:
            nonlocal done
            async with gate:
                request = judge_input(prompt.template, job.task, job.answer, rubric, images=send_images)
                trial_id = self._trials.create(request)
                (result,) = await self._runner.run_trial(trial_id, request, [target], self._recorder())
                self._links.link_response(result.id, run_id, seq)
                if job.retry:  # its failed request's error row makes way for this reply's
                    self.verdicts.forget_error(job.response_id, rater)
                seen = None if not job.task.images else "sent" if send_images else "withheld"
                summary.images_sent += seen == "sent"
                summary.images_withheld += seen == "withheld"
                self._record(job, result, rater, prompt, rubric, schema,
                             {"run_id": run_id, "images": seen}, summary)
            done += 1
            if progress is not None:
                progress(done, len(jobs))

        status = "cancelled"
        try:
            await asyncio.gather(*(one(i, job) for i, job in enumerate(jobs)))
            status = "done"
        finally:
            # ok / failed as `desk runs` counts a run's answers: verdicts and judge errors
            self._runs.finish(run_id, status, {"ok": summary.verdicts, "failed": summary.errors,
                                               "already": summary.already})
        return summary

    async def images_decision(self, judge: ModelRef, images: bool | None) -> tuple[bool, str]:
        """Whether the judge is shown the tasks' images, and why: as asked, else only when its
        model is known to take images (never guessed: unknown means withheld, said so)."""
        if images is not None:
            return images, f"images {'sent' if images else 'withheld'} as asked"
        takes, why = await self._takes_images(judge)
        return bool(takes), why

    def _jobs(self, trial_ids: Sequence[str], rater: str, retry_failed: bool) -> tuple[list[_Job], int, int]:
        """The answers to send: each finished answer of these trials the judge has not judged
        (with how many it judged before, and how many failed: nothing to judge)."""
        tasks = self._trials.get_many(list(trial_ids))
        answers = [a for t in trial_ids for a in self._answers.for_trial(t)]
        judged = self.verdicts.judged(rater, [a.id for a in answers])
        retry = self.verdicts.request_failures(rater, list(judged)) if retry_failed and judged else set()
        judged -= retry
        jobs, failed = [], 0
        for answer in answers:
            if answer.id in judged:
                continue
            if answer.status != Status.OK:
                failed += 1
                continue
            task = tasks[answer.trial_id].input
            if answer.variant is not None:  # the system prompt this answer was given
                task = replace(task, system=answer.variant.system)
            jobs.append(_Job(answer.id, task, answer.text, answer.id in retry))
        return jobs, len(judged), failed

    def _record(self, job: _Job, result: ResponseResult, rater: str, prompt: JudgePrompt, rubric: Rubric,
                schema: dict[str, Any], run: dict[str, Any], summary: JudgeSummary) -> None:
        """The judge's reply as a verdict, or as a judge error with its raw text."""
        where = {"prompt_id": prompt.id or "", "rubric_id": rubric.id or "", "judge_response_id": result.id, **run}
        if result.status != Status.OK:
            why = f"the judge's request failed: {result.error_kind or result.status}: {result.error_message or ''}"
            self._error(job, rater, why.strip(": "), result.text or None, where, summary)
            return
        try:
            verdict = parse_verdict(result.text, schema)
            self.verdicts.save_verdict(job.response_id, rater, dict(verdict.values), rationale=verdict.rationale,
                                       **where)
            summary.verdicts += 1
        except (VerdictError, StoreError) as exc:
            self._error(job, rater, f"not a verdict: {exc}", result.text, where, summary)

    def _error(self, job: _Job, rater: str, why: str, raw: str | None, where: dict[str, Any],
               summary: JudgeSummary) -> None:
        self.verdicts.save_error(job.response_id, rater, error=why, raw=raw, **where)
        summary.errors += 1
        summary.error_messages.append(why)

    def agreement(self, run_id: str | None = None, *, threshold: float = 0.6, seed: int = 0) -> AgreementReport:
        """Per judge and criterion, how the judge's verdicts agree with people's on the answers
        both rated (all answers, or those of suite run `run_id`)."""
        ids: list[str] | None = None
        if run_id is not None:
            items = self._run_answers(run_id)
            if not items:
                raise EngineError(f"no suite run {run_id} with answers")
            ids = [i for item in items for i in item.response_ids]
        ratings = self._ratings.current(ids) if ids is None or ids else []
        return agreement_report(ratings, self._rubrics.default(), threshold=threshold, seed=seed)

    def images_withheld(self) -> dict[str, int]:
        """Per judge, how many of its verdicts and errors were made without the task's images."""
        counts: dict[str, int] = {}
        for v in self.verdicts.list():
            if v.images == "withheld":
                counts[v.judge] = counts.get(v.judge, 0) + 1
        return counts

    # --- the calibration sample and the figures it makes possible ---------------------------

    def _run_scope(self, run_id: str) -> dict[str, str]:
        """Response id -> model of each finished answer of suite run `run_id`."""
        items = self._run_answers(run_id)
        if not items:
            raise EngineError(f"no suite run {run_id} with answers")
        model_of = {rid: model for item in items for rid, model in zip(item.response_ids, item.models, strict=True)}
        finished = {a.id for item in items for a in self._answers.for_trial(item.trial_id) if a.status == Status.OK}
        return {rid: m for rid, m in model_of.items() if rid in finished}

    def calibration_sample(self, run_id: str) -> list[str]:
        """The answers drawn for run `run_id`'s calibration sample so far, first drawn first."""
        return [rid for rid, _seed in self._draws.drawn(run_id)]

    def draw_calibration(self, run_id: str, seed: int | None = None) -> str | None:
        """The next answer of the run's calibration sample, drawn uniformly at random from its
        finished answers (without replacement; the seed is the run's first draw's, recorded
        with every draw). None once every answer is drawn."""
        drawn = self._draws.drawn(run_id)
        if drawn:
            if seed is not None and seed != drawn[0][1]:
                raise EngineError(f"run {run_id}'s calibration sample is drawn with seed {drawn[0][1]}")
            seed = drawn[0][1]
        elif seed is None:
            seed = secrets.randbelow(2**31)
        taken = {rid for rid, _ in drawn}
        nxt = next((rid for rid in calibration_order(list(self._run_scope(run_id)), seed) if rid not in taken), None)
        if nxt is not None:
            self._draws.record(run_id, nxt, seed)
        return nxt

    def _figures_inputs(self, run_id: str, judge: ModelRef) -> tuple[dict[str, str], dict[str, Any], dict[str, Any],
                                                                       set[str], dict[str, bool]]:
        model_of = self._run_scope(run_id)
        rater = judge_rater(str(judge))
        ratings = self._ratings.current(list(model_of)) if model_of else []
        people: dict[str, Any] = {}
        for r in sorted(ratings, key=lambda r: (r.created_at, r.id)):
            if not is_machine(r.rater):
                people.setdefault(r.response_id, r.values)
        verdicts = {r.response_id: r.values for r in ratings if r.rater == rater}
        report = agreement_report(ratings, self._rubrics.default())
        calibrated = {row.criterion: row.calibrated for row in report.rows if row.judge == rater}
        sample = {rid for rid, _ in self._draws.drawn(run_id)}
        return model_of, people, verdicts, sample, calibrated

    def rates(self, run_id: str, judge: ModelRef) -> list[JudgedRate]:
        """Per model and figure of suite run `run_id`: people only, `judge` only (with its
        calibration state), and combined by prediction-powered inference on the calibration sample."""
        return judged_rates(*self._figures_inputs(run_id, judge))

    def plan(self, run_id: str, judge: ModelRef, model: str, figure: str, half_width: float) -> OversightPlan:
        """How many more human ratings `figure` of `model` needs for a 95% interval of
        ±`half_width`, with the judge and without it."""
        if figure not in FIGURES:
            raise EngineError(f"figure {figure!r} is not one of {', '.join(FIGURES)}")
        model_of, people, verdicts, sample, calibrated = self._figures_inputs(run_id, judge)
        rate = next((r for r in judged_rates(model_of, people, verdicts, sample, calibrated, (figure,))
                     if r.model == model), None)
        if rate is None:
            raise EngineError(f"model {model} has no finished answers in run {run_id}")
        try:
            return oversight_plan(rate, people, verdicts, [r for r, m in model_of.items() if m == model], sample,
                                  half_width)
        except ValueError as exc:
            raise EngineError(str(exc)) from None

    def validated_costs(self, run_id: str, judge: ModelRef) -> list[ValidatedCost]:
        """Per model of suite run `run_id`: cost per successful task alone, and validated by
        `judge` (each answer's cost plus the judge's measured cost for it)."""
        model_of, people, _verdicts, _sample, _calibrated = self._figures_inputs(run_id, judge)
        cost_of = {a.id: a.cost_usd for item in self._run_answers(run_id)
                   for a in self._answers.for_trial(item.trial_id) if a.id in model_of}
        judge_cost_of: dict[str, float | None] = {}
        for verdict in self.verdicts.list(judge_rater(str(judge)), list(model_of)):
            own = self._answers.get(verdict.judge_response_id) if verdict.judge_response_id else None
            judge_cost_of[verdict.response_id] = own.cost_usd if own is not None else None
        return validated_costs(model_of, cost_of, judge_cost_of, people)
