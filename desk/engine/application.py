"""The one object both front-ends start from.

`Application.open(path)` opens the store file once; `engine(...)` builds an `Engine`, the
set of use-case services (providers, trials, ratings, suites, loads, exports), on it with
the network settings a command or the window asks for. The window keeps one engine for its
life; a CLI command builds one per event loop it runs. Neither front-end imports the store.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from desk.engine.errors import EngineError
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.session import Engine
from desk.engine.url_credentials import secure_stored_urls
from desk.store.db import Store, open_store
from desk.store.errors import StoreError

if TYPE_CHECKING:
    from desk.providers.connections import HttpClient


class Application:
    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, path: str | Path | None = None) -> Application:
        """The store at `path` (default: $DESK_DB or the platform data folder), created if
        new; EngineError with the store's one-line reason if it cannot be used."""
        try:
            return cls(open_store(path))
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    @property
    def path(self) -> str:
        return str(self.store.path)

    def engine(self, *, timeouts: Timeouts | None = None, retry: RetryPolicy | None = None,
               stream: bool = True, client: HttpClient | None = None, warm_prices: bool = True) -> Engine:
        """The services on this store; close it (`async with`, or aclose) on the loop that used it."""
        return Engine(self.store, timeouts=timeouts, retry=retry, stream=stream, client=client,
                      warm_prices=warm_prices)

    def secure_stored_urls(self) -> list[str]:
        """Take any password an older desk kept in a provider's base URL out of the store (to
        the keyring when it can); one note per provider changed, to show once."""
        return secure_stored_urls(self.store)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Application:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


__all__ = ["Application", "EngineError", "StoreError"]
