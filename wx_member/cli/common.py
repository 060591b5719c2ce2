"""What every `wx-member` command shares: the runtime it works with, how it fails (one line
on stderr, exit code 2, never a traceback), and how it reads dates and prints JSON.

The command modules import this one, never the package's __init__ (which imports them)."""
from __future__ import annotations

import json
import sys
from datetime import date
from typing import TYPE_CHECKING, Callable, NoReturn, TypeVar

import click

from wx_member.config import Config

if TYPE_CHECKING:
    from wx_member.extensions import Runtime

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def config() -> Config:
    try:
        return Config.from_env()
    except ValueError as exc:  # a malformed variable (WX_ENCODING_AES_KEY, ...)
        fail(str(exc))


def runtime(*, pushes: bool = False) -> Runtime:
    """The runtime for one command, on a database that has this code's schema (else one
    line saying to run `wx-member db upgrade`, before anything connects: a missing SQLite
    file is not created).

    `pushes`: load and check the push kinds (templates_msg/*.toml). Only commands that plan,
    send or schedule pushes need them; the others neither pay for the loading nor print its
    warnings (a kind disabled for want of its WX_TEMPLATE_<KIND>)."""
    from wx_member import migrate
    from wx_member.extensions import build_runtime
    from wx_member.pushes.definitions import DefinitionError

    try:
        rt = build_runtime(config(), load_pushes=pushes)
    except DefinitionError as exc:
        fail(f"push definitions: {exc}")
    try:
        migrate.require_schema(rt.engine)
    except migrate.SchemaNotReady as exc:
        rt.dispose()
        fail(str(exc))
    return rt


def refused(exc) -> NoReturn:
    """A use case refused (a DomainError): its reason and the member's Chinese message."""
    fail(f"{exc} ({exc.user_message})")


def run(action: Callable[[], T]) -> T:
    """Run one use case; a refusal prints its reason (and the member's Chinese message)."""
    from wx_member.platform.errors import DomainError

    try:
        return action()
    except DomainError as exc:
        refused(exc)


def echo(data, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)


def parse_date(_ctx, _param, value: str | None) -> date | None:
    """A click callback: a local date like 2026-11-11."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date like 2026-11-11, got {value!r}") from None
