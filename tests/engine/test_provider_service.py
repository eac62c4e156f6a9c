"""The provider service: one per open store, the `Targets` the running services use, and
the only way the window and the CLI reach the protocols."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

import desk
from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.trial import ModelRef
from desk.engine.errors import EngineError
from desk.engine.ports.targets import Targets
from desk.engine.services.providers import ProviderService, takes_api_version
from desk.engine.session import Engine
from desk.store import open_store

DESK = Path(desk.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("front", ["cli", "ui"])
def test_front_ends_reach_the_protocols_only_through_the_engine(front):
    offenders = {str(p.relative_to(DESK)): sorted(m for m in _imports(p) if m.startswith("desk.providers"))
                 for p in sorted((DESK / front).rglob("*.py"))}
    assert {p: m for p, m in offenders.items() if m} == {}


def test_the_service_is_the_targets_of_the_running_services(tmp_path):
    async def go():
        async with Engine(open_store(tmp_path / "a.db")) as engine:
            targets: Targets = engine.providers  # checked by the type checker, too
            assert isinstance(targets, ProviderService)
            with pytest.raises(EngineError, match=r"unknown provider 'nope' \(configured: none yet\)"):
                await targets.prepare(["nope"])
            engine.providers.save_provider(ProviderConfig("p", "openai", "http://127.0.0.1:9/v1"), new=True)
            await targets.prepare(["p"])
            return targets.target(ModelRef("p", "m")).provider.base_url

    assert asyncio.run(go()) == "http://127.0.0.1:9/v1"


def test_a_switched_store_gets_its_own_providers_and_prices(tmp_path):
    first, second = open_store(tmp_path / "a.db"), open_store(tmp_path / "b.db")
    first.providers.add(ProviderConfig("p", "openai", "http://127.0.0.1:9/v1"))
    second.providers.add(ProviderConfig("p", "openai", "http://127.0.0.1:10/v1"))
    second.prices.set("p", "m", Price(1.0, 2.0))
    second.close()

    async def go():
        async with Engine(first) as engine:
            before = engine.providers.provider("p").base_url  # cached on the first store's service
            engine.switch_store(str(tmp_path / "b.db"))
            after = engine.providers.provider("p").base_url
            own, _ = engine.providers.price(ModelRef("p", "m"))
            engine.store.close()
            return before, after, own

    before, after, own = asyncio.run(go())
    assert (before, after) == ("http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1")
    assert own == Price(1.0, 2.0)


def test_only_the_openai_protocol_has_an_api_version():
    assert takes_api_version("openai")
    assert not any(takes_api_version(k) for k in ("anthropic", "gemini", "ollama"))
