"""Use-case services: providers and models, trials, ratings and scorecards, suites and suite
runs, load runs, exports. Each is built from the ports (desk.engine.ports) it needs; the
application object (desk.engine.session.Engine) builds them once per open store and both
front-ends, the window and the CLI, use the same ones.
"""
