"""Base URLs that cannot work are refused when a provider is added, in one sentence."""

from __future__ import annotations

import pytest

from desk.providers.registry import base_url_problem

GOOD = [
    ("openai", "https://api.openai.com/v1"),
    ("openai", "http://127.0.0.1:8080/v1"),
    ("openai", "https://x.openai.azure.com/openai/deployments/gpt4o"),
    ("anthropic", "https://api.anthropic.com"),
    ("anthropic", "https://proxy.corp.example/anthropic"),
    ("gemini", "https://generativelanguage.googleapis.com"),
    ("ollama", "http://localhost:11434"),
    ("openai", "http://[::1]:8000/v1"),
]
BAD = [
    ("openai", "http://exa mple.com/v1", "contains a space"),
    ("openai", "http://host:99999/v1", "not a valid URL"),
    ("openai", "http://host:0/v1", "port 0"),
    ("openai", "https://h/v1?api-version=1", "query or fragment"),
    ("openai", "https://h/v1#top", "query or fragment"),
    ("openai", "ftp://h/v1", "http:// or https://"),
    ("openai", "https:///v1", "name a host"),
    ("anthropic", "https://api.anthropic.com/v1", "must stop before '/v1'"),
    ("anthropic", "https://api.anthropic.com/v1/", "try https://api.anthropic.com"),
    ("gemini", "https://generativelanguage.googleapis.com/v1beta", "must stop before '/v1beta'"),
    ("ollama", "http://localhost:11434/api", "must stop before '/api'"),
    ("ollama", "http://localhost:11434/v1", "must stop before '/v1'"),
]


@pytest.mark.parametrize(("kind", "url"), GOOD)
def test_workable_base_urls_pass(kind, url):
    assert base_url_problem(kind, url) is None


@pytest.mark.parametrize(("kind", "url", "message"), BAD)
def test_unworkable_base_urls_say_why(kind, url, message):
    problem = base_url_problem(kind, url)
    assert problem is not None and message in problem and "\n" not in problem


def test_an_unknown_kind_is_refused_by_the_one_list_of_protocols():
    problem = base_url_problem("cohere", "https://api.cohere.example")
    assert problem == "unknown provider kind 'cohere'; choose one of openai, anthropic, gemini, ollama"
