"""The retry and timeout options of every command that sends (desk trial, suite run, load),
with the engine's own defaults, so that the commands cannot drift apart from it or each other."""

from __future__ import annotations

import argparse

from desk.engine.policy import RetryPolicy, Timeouts


def add_policy_args(parser: argparse.ArgumentParser, *, connect: bool = False) -> None:
    """--max-retries and the timeouts; `connect` adds --connect-timeout (for a command that
    builds its own HTTP client)."""
    retry, limits = RetryPolicy(), Timeouts()
    parser.add_argument("--max-retries", type=int, default=retry.max_retries)
    if connect:
        parser.add_argument("--connect-timeout", type=float, default=limits.connect, metavar="S")
    parser.add_argument("--first-token-timeout", type=float, default=limits.first_token, metavar="S")
    parser.add_argument("--idle-timeout", type=float, default=limits.idle, metavar="S")
    parser.add_argument("--total-timeout", type=float, default=limits.total, metavar="S")


def timeouts_from(args: argparse.Namespace) -> Timeouts:
    """The Timeouts the arguments ask for; ValueError with a plain sentence for a bad one."""
    return Timeouts(connect=getattr(args, "connect_timeout", Timeouts().connect), first_token=args.first_token_timeout,
                    idle=args.idle_timeout, total=args.total_timeout)
