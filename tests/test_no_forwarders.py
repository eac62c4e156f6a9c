"""No method only forwards a call (issue 13), in the engine and the store.

A forwarder is a method whose body (its docstring aside) is one statement that calls
another object's method with exactly the method's own arguments, in order:
`def get(self, id): return self._table.get(id)`. It adds a name and no rule, and callers
lose the trail through it. A pure read exposes its port instead (`engine.trials.responses`);
anything else gives the method its rule.

Two kinds are not hops and stay: closing what the object owns (`close`, `aclose`: an owner
releases its own resources), and the methods listed below, each with why.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("desk/engine", "desk/store")
OWNER_DUTIES = frozenset({"close", "aclose"})

# path::Class.method: why it is not a hop. A listed method that stops forwarding fails the
# test until it leaves the list.
ALLOWED = {
    "desk/engine/services/load_workers.py::Courier.send":
        "the one way a worker writes to its pipe, so nothing else touches the connection",
    # A sink decorator answers the whole ResponseSink protocol; redacting the text is its rule.
    "desk/engine/recorder.py::RedactingSink.response_started": "one of the sink protocol's four events",
    "desk/engine/recorder.py::RedactingSink.attempt_finished": "one of the sink protocol's four events",
    # Plain objects that give a standard-library primitive the domain's words.
    "desk/engine/jobs.py::Job.cancel": "the caller's side of the job's threading.Event",
    "desk/engine/jobs.py::Job.cancelled": "the worker's side of the job's threading.Event",
    "desk/engine/tab_events.py::Event.connect": "an evented model's callback list",
    "desk/engine/tab_events.py::Event.disconnect": "an evented model's callback list",
}


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, bool]]:
    """(name, keyword-only) of each argument but the first (self / cls)."""
    a = fn.args
    positional = [p.arg for p in [*a.posonlyargs, *a.args][1:]]
    return [(name, False) for name in positional] + [(p.arg, True) for p in a.kwonlyargs]


def _passes_its_own_arguments(fn: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> bool:
    if fn.args.vararg or fn.args.kwarg:
        starred = [x.value for x in call.args if isinstance(x, ast.Starred)]
        splat = [k.value for k in call.keywords if k.arg is None]
        if [getattr(x, "id", None) for x in starred] != ([fn.args.vararg.arg] if fn.args.vararg else []):
            return False
        if [getattr(x, "id", None) for x in splat] != ([fn.args.kwarg.arg] if fn.args.kwarg else []):
            return False
    elif any(isinstance(x, ast.Starred) for x in call.args) or any(k.arg is None for k in call.keywords):
        return False
    passed = [x.id if isinstance(x, ast.Name) else None for x in call.args if not isinstance(x, ast.Starred)]
    named = [(k.arg, k.value.id if isinstance(k.value, ast.Name) else None)
             for k in call.keywords if k.arg is not None]
    if any(name != value for name, value in named):  # `x=y` renames: not the same arguments
        return False
    return passed + [name for name, _ in named] == [name for name, _ in _params(fn)]


def _forwarded_call(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.Call | None:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return | ast.Expr) or body[0].value is None:
        return None
    value = body[0].value
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
        return None
    target = value.func.value
    if isinstance(target, ast.Name) and target.id in ("self", "cls", "super"):
        return None  # its own method: a name for a case, not a hop to another object
    if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and target.func.id == "super":
        return None  # an override that only calls up is not a forwarder either
    return value


def forwarders(source: str) -> list[str]:
    """Qualified names of the forwarding methods in a module's source."""
    found: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                for item in child.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        call = None if item.name in OWNER_DUTIES else _forwarded_call(item)
                        if call is not None and _passes_its_own_arguments(item, call):
                            found.append(f"{prefix}{child.name}.{item.name}")
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(source), "")
    return found


def _found() -> list[str]:
    found = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            found += [f"{where}::{name}" for name in forwarders(path.read_text(encoding="utf-8"))]
    return found


def test_no_method_only_forwards_a_call():
    found = _found()
    hops = [name for name in found if name not in ALLOWED]
    assert hops == [], "these methods only forward a call: expose the port (a pure read) or give them their rule"
    assert sorted(set(ALLOWED) - set(found)) == [], "no longer forwarders: remove them from ALLOWED"


def test_the_check_finds_a_forwarder_and_nothing_else():
    source = '''
class Service:
    def get(self, trial_id):
        """A docstring does not make it more than a hop."""
        return self._trials.get(trial_id)

    async def run(self, plan, *, sink=None):
        await self._runner.run(plan, sink=sink)

    def spread(self, *args, **kwargs):
        return self.inner.spread(*args, **kwargs)

    def count(self):
        return self._table.count()

    def checked(self, trial_id):
        if not trial_id:
            raise ValueError("no id")
        return self._trials.get(trial_id)

    def narrowed(self, trial_id):
        return self._trials.get(trial_id, with_attempts=False)

    def renamed(self, trial_id):
        return self._trials.get(id=trial_id)

    def reordered(self, a, b):
        return self._pairs.get(b, a)

    def own(self, trial_id):
        return self.load(trial_id)

    def up(self, trial_id):
        return super().up(trial_id)

    def value(self):
        return self._trials.latest

    def close(self):
        self._db.close()
'''
    assert forwarders(source) == ["Service.get", "Service.run", "Service.spread", "Service.count"]
