"""The use cases, asyncio only, no Qt: `application.Application` opens the store and builds an
`Engine` (session.py) of services (services/), each built from the store ports it names
(ports/); runs trials, suites and load with honest timing, retries and timeouts."""
