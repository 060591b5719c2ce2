"""A pytest plugin for finding tests (and code) that depend on the day they run: every test
starts at WX_TEST_START_AT (ISO 8601, e.g. 2026-12-31T16:00:30Z: New Year's first
minute in Shanghai while UTC is still in December), the clock ticking from there.

    PYTHONPATH=tests WX_TEST_START_AT=2028-02-29T02:00:00Z WX_TEST_MARIADB=0 \\
        .venv/bin/python -m pytest -p start_at tests/

Only this process's clock moves (time_machine), the app and the sandbox included: a test
whose subprocess runs in real time (the CLI, gunicorn, Node) sees two clocks and fails
for that reason alone (the sandbox refuses the CLI's WeChat Pay signature as too old,
say); read those failures as such. MariaDB's own NOW() is not moved: SQLite only.
Not loaded by scripts/test.
"""
from __future__ import annotations

import os

import pytest
import time_machine

START_AT = os.environ.get("WX_TEST_START_AT", "")


@pytest.fixture(autouse=True)
def _start_at():
    if not START_AT:
        yield
        return
    with time_machine.travel(START_AT, tick=True):
        yield
