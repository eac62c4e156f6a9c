"""How a provider fails: one exception carrying the failure as data. Its own module so the
framing below the protocols can raise it without importing the protocols' base."""

from __future__ import annotations

from dataclasses import dataclass, field

from desk.core.response import ErrorKind


@dataclass
class ProviderError(Exception):
    """A failed request, as data: kind, the vendor's own message (keys redacted), status."""

    kind: ErrorKind
    message: str
    http_status: int | None = None
    retry_after_s: float | None = None
    vendor_request_id: str | None = None
    ratelimit: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        status = f" (HTTP {self.http_status})" if self.http_status else ""
        return f"{self.kind.value}{status}: {self.message}"
