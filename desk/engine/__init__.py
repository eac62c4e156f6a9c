"""The use cases below both front-ends: the Application and its Engine of services (built from
the ports the store implements), the Qt-free tab models, and the runs they start (trials,
suites, load: concurrency, timeouts, retries, timing). asyncio only, no Qt."""
