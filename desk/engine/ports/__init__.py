"""Typed store interfaces the services are built from.

Each module declares, as `typing.Protocol`s, what one area of the application needs from
storage; the store's tables implement them structurally. A service names only the ports it
uses, so its dependencies are visible in its constructor and a test can hand it any object
that satisfies them.
"""
