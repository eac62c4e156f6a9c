"""redact(): keys and Authorization values go, in every form they reach an error or a log;
ordinary words that merely sit next to "key", "token" or "bearer" stay."""

from __future__ import annotations

import pytest

from desk.core.response import redact

LEAKY = {
    # text, the secret part that must go, what must stay
    "basic-header": ("Authorization: Basic dXNlcjpzZWNyZXQ=", "dXNlcjpzZWNyZXQ=", "Authorization: Basic "),
    "basic-dict": ("{'authorization': 'Basic QWxhZGRpbjpvcGVuc2VzYW1l'}", "QWxhZGRpbjpvcGVu", "'authorization': 'Basic "),
    "proxy-basic": ("Proxy-Authorization: Basic YWxpY2U6cGFzc3dvcmQ", "YWxpY2U6cGFzc3dvcmQ", "Proxy-Authorization"),
    "token-scheme": ("authorization=Token 9f8e7d6c5b4a", "9f8e7d6c5b4a", "authorization=Token "),
    "raw-header": ("Authorization: 0a1b2c3d4e5f6a7b8c9d", "0a1b2c3d4e5f6a7b8c9d", "Authorization: "),
    "no-space": ("-H 'Authorization:Bearer tok_123456789'", "tok_123456789", "Authorization:Bearer "),
    "letters-only": ("Bearer abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz", "Bearer "),
    "bearer-equals": ("bearer=tok_123456789&x=1", "tok_123456789", "&x=1"),
    "bearer-colon": ('"Bearer": "tok_123456789"', "tok_123456789", '"Bearer"'),
    "url-encoded": ("?auth=Bearer%20tok_123456789", "tok_123456789", "?auth=Bearer%20"),
    "tab": ("BEARER\ttok_123456789", "tok_123456789", "BEARER\t"),
    "access-token": ("?access_token=a1b2c3d4e5f6g7h8", "a1b2c3d4e5f6g7h8", "?access_token="),
    "client-secret": ('"client_secret": "s3cr3t-value-42"', "s3cr3t-value-42", '"client_secret"'),
    "url-password": ("https://ana:hunter2pass@proxy.example.com:8080/v1", "hunter2pass", "proxy.example.com:8080/v1"),
    "groq": ("key gsk_Abc123Def456Ghi789Jkl0", "gsk_Abc123Def456Ghi789Jkl0", "key "),
    "huggingface": ("token hf_AbCdEfGhIjKlMnOpQrStUv12", "hf_AbCdEfGhIjKlMnOpQrStUv12", "token "),
    "jwt": ("id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_abc-123", "eyJhbGciOiJIUzI1NiJ9", "id "),
    "aws": ("AKIAIOSFODNN7EXAMPLE was used", "AKIAIOSFODNN7EXAMPLE", " was used"),
    "google-oauth": ("ya29.a0AfH6SMBx1234567890abcdefg expired", "a0AfH6SMBx1234567890", " expired"),
    "openai": ("Incorrect API key provided: sk-proj-abcdefgh12345.", "sk-proj-abcdefgh12345", "Incorrect API key"),
    "api-key-header": ('{"x-api-key": "k-0123456789"}', "k-0123456789", '"x-api-key"'),
}


@pytest.mark.parametrize("text,secret,kept", LEAKY.values(), ids=LEAKY.keys())
def test_keys_are_redacted(text, secret, kept):
    out = redact(text)
    assert secret not in out and "[REDACTED]" in out, out
    assert kept in out, out


ORDINARY = [
    "Bearer bonds pay whoever holds them.",
    "The bearer of this letter is a friend.",
    "Missing Authorization header. Authorization: denied for this project",
    "monkey=bananas123 and turnkey: solutions2024",
    "primary key: customer_identifier; foreign key: order_reference",
    "max_tokens=4096, input_tokens: 1234, x-ratelimit-remaining-tokens: 149984",
    "token: 4096 and secret: sauce",
    "http://localhost:11434/api/chat and https://ana@example.com/path",
    "Rate limit exceeded: retry after 20 s [rate_limit_error] request-id: req_0123456789abcdef",
    "model gpt-4o-2024-08-06 at 2024-01-01T00:00:00Z, base64 is a word",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_known_secrets_go_in_any_form():
    key = "plainsecretwithoutanyprefix"
    assert redact(f"the value {key} leaked", (key,)) == "the value [REDACTED] leaked"
