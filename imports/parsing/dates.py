"""The order of a file's day/month/year date columns, decided once per column from the file.

A value alone cannot tell 01/12/1968 (1 December, day-first) from 12 January (month-first), so
the file decides: a column is day-first if some value can only be read day-first (31/01/1980)
and none only month-first, month-first in the opposite case, `mixed` when both appear (then
only the values that read the same either way are imported), and month-first when no value
tells, which the preview says, so the agent can switch it (CONTRACT §6 `dateOrder`).
"""

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import polars as pl

from leads.normalize import DAY_FIRST, MONTH_FIRST, InvalidValue, dob_written_order, normalize_dob

MIXED = "mixed"
DATE_ORDERS = (DAY_FIRST, MONTH_FIRST)
# Every column is looked at over the first this many records; after them, only the columns
# that held a day/month/year date among them (a column's first date farther down is read
# month-first, and a value that cannot be is refused, never read the other way).
CANDIDATE_RECORDS = 1000
# A cheap first look before the exact rule (leads.normalize.dob_written_order)
_DATE_START = re.compile(r"\s*\d{1,2}[-/.]\d{1,2}[-/.]\d{2}", re.ASCII)


@dataclass(slots=True)
class DateEvidence:
    """How many values of a column can be read in only one order."""

    day_first: int = 0
    month_first: int = 0

    def add(self, raw: str, times: int = 1) -> None:
        order = dob_written_order(raw)
        if order == DAY_FIRST:
            self.day_first += times
        elif order == MONTH_FIRST:
            self.month_first += times

    @property
    def order(self) -> str:
        if self.day_first and self.month_first:
            return MIXED
        return DAY_FIRST if self.day_first else MONTH_FIRST

    @property
    def assumed(self) -> bool:
        """No value tells the order: month-first is assumed."""
        return not (self.day_first or self.month_first)


class DateColumnScan:
    """The evidence of each date column's order, gathered record by record over a whole file."""

    def __init__(self) -> None:
        self.evidence: dict[int, DateEvidence] = {}
        self._records = 0

    def add(self, cells: list[str]) -> None:
        self._records += 1
        evidence = self.evidence
        if self._records <= CANDIDATE_RECORDS:
            for index, cell in enumerate(cells):
                if _DATE_START.match(cell):
                    evidence.setdefault(index, DateEvidence()).add(cell)
            return
        width = len(cells)
        for index, found in evidence.items():
            if index < width:
                found.add(cells[index])

    def add_frame(self, frame: pl.DataFrame) -> None:
        """`add` every record of `frame` (a RawBatch's: one text column per header column),
        each distinct value of a date column looked at once."""
        head = min(max(CANDIDATE_RECORDS - self._records, 0), frame.height)
        for cells in frame.head(head).iter_rows():
            self.add(list(cells))
        rest = frame.slice(head)
        self._records += rest.height
        for index, found in self.evidence.items():
            if rest.height and index < rest.width:
                for raw, times in rest.get_column(str(index)).value_counts().iter_rows():
                    found.add(raw, times)


def column_date_orders(
    evidence: Mapping[int, DateEvidence], *, learned: str = "", dob_columns: Iterable[int] = ()
) -> dict[str, str]:
    """The order of each date column (by index, as a job stores it); a `learned` order (the
    one the agent chose for this vendor's header) stands for the DOB columns no value decides."""
    orders = {str(index): found.order for index, found in evidence.items()}
    if learned in DATE_ORDERS:
        for index in dob_columns:
            if index not in evidence or evidence[index].assumed:
                orders[str(index)] = learned
    return orders


def dob_reader(order: str | None, *, today: date) -> Callable[[str], date | None]:
    """The normaliser of a DOB column read in `order`; None: each value on its own, month-first
    unless the first number cannot be a month (imports stored before the order was decided)."""
    if order == MIXED:
        return lambda raw: _unambiguous_dob(raw, today=today)
    day_first = None if order is None else order == DAY_FIRST
    return lambda raw: normalize_dob(raw, today=today, day_first=day_first)


def _unambiguous_dob(raw: str, *, today: date) -> date | None:
    """The date `raw` is in whichever order it can be read; refused if both give a date."""
    readings = set()
    for day_first in (False, True):
        with contextlib.suppress(InvalidValue):
            readings.add(normalize_dob(raw, today=today, day_first=day_first))
    if len(readings) > 1:
        raise InvalidValue(
            f'day and month cannot be told apart (the column has both orders): "{raw.strip()[:40]}"'
        )
    if readings:
        return readings.pop()
    return normalize_dob(raw, today=today, day_first=False)  # raises its own reason
