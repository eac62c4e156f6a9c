"""The domain, pure Python: no Qt, no network, no SQL."""
