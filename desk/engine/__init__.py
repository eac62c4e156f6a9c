"""Runs trials: concurrency, timeouts, retries, timing. asyncio only, no Qt."""
