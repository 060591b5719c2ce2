"""Cursor paging, newest first, for what a member reads page by page (points, coupons,
stored value, redemptions): the cursor is the id of the last row shown, so a row written
while the member scrolls neither repeats nor hides another (unlike OFFSET). The keyset
walk of the batch jobs (`keyset`), run backwards."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import Select

from wx_member.platform import keyset

T = TypeVar("T")
MAX_ID = 2**62  # larger cursors or ids are refused before they reach the database


def newest_first(stmt: Select, id_column, before: int | None, limit: int) -> Select:
    """`stmt` ordered by `id_column` descending, below the cursor, one row more than a page
    (that row only tells whether there is a next page)."""
    return keyset.after(stmt, id_column, before, limit + 1, descending=True)


def cut(rows: Sequence[T], limit: int, id_of: Callable[[T], int]) -> tuple[list[T], int | None]:
    """The page and the cursor of the next one (None on the last page)."""
    page = list(rows[:limit])
    return page, (id_of(page[-1]) if len(rows) > limit else None)
