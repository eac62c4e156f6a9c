"""What the providers' side needs from storage: the configured providers and their models,
the user's own prices, and this store's small settings (desk.store.providers, prices,
settings implement these)."""

from __future__ import annotations

from typing import Protocol

from desk.core.pricing import Price
from desk.core.provider import ProviderConfig


class ProviderReader(Protocol):
    def get(self, name: str) -> ProviderConfig | None:
        """The saved settings of provider `name`, or None."""

    def all(self) -> list[ProviderConfig]:
        """Every configured provider, by name."""

    def models(self, provider_name: str | None = None) -> list[tuple[str, str]]:
        """(provider name, model) pairs the user added, sorted."""

    def takes_images(self, provider_name: str, model: str) -> bool | None:
        """Whether the user said this model takes images (None: they did not say)."""


class ProviderRecords(ProviderReader, Protocol):
    def add(self, cfg: ProviderConfig) -> str:
        """Insert a provider (StoreError if the name is taken or its URL holds a password)."""

    def update(self, cfg: ProviderConfig) -> None:
        """Replace a provider's settings (StoreError if there is none)."""

    def remove(self, name: str) -> bool:
        """Delete a provider with its models and prices; False when there was none."""

    def add_model(self, provider_name: str, model: str) -> None:
        """Remember a model for a provider; again does nothing."""

    def remove_model(self, provider_name: str, model: str) -> bool:
        """Forget a model of a provider; False when it was not there."""

    def set_takes_images(self, provider_name: str, model: str, takes: bool | None) -> None:
        """Say whether this model takes images (None: as its family is known)."""


class PriceReader(Protocol):
    def get(self, provider_name: str, model: str) -> Price | None:
        """The user's own price for one model, or None."""


class PriceRecords(PriceReader, Protocol):
    def set(self, provider_name: str, model: str, price: Price) -> None:
        """Insert or replace the user's price for one model."""

    def all(self) -> list[tuple[str, str, Price]]:
        """Every own price as (provider name, model, price), sorted."""

    def delete(self, provider_name: str, model: str) -> bool:
        """Forget one own price; False when there was none."""


class SettingRecords(Protocol):
    def get(self, key: str) -> str | None:
        """A setting's text, or None when it is not set."""

    def set(self, key: str, value: str | None) -> None:
        """Set a setting (None removes it); StoreError for anything like a secret."""
