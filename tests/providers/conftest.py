"""The provider tests use the engine harness (tests/engine/conftest.py): same vendor, same store."""

from tests.engine.conftest import _vendor_session, providers, store, vendor  # noqa: F401
