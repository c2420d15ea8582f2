"""What an import reports when it refuses a file: every wrong record, located as users see it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from medshield.register.vocabulary import PLACE, PLACE_COLUMNS


@dataclass(frozen=True)
class RecordError:
    """One wrong value: where it is (record and field or column) and why it is wrong.

    For JSON ``record`` is a path such as ``assets[12].interfaces[0]`` and ``field`` a key
    (``mac``); for CSV/XLSX ``record`` names the sheet and the 1-based row as Excel shows it
    (the header is row 1) and ``field`` the column header as written in the file.
    """

    record: str
    field: str
    reason: str
    spreadsheet: bool = False

    def __str__(self) -> str:
        if self.spreadsheet:
            if self.field:
                return _("{record}, column {column}: {reason}").format(
                    record=self.record, column=self.field, reason=self.reason
                )
            return f"{self.record}: {self.reason}"
        where = ".".join(part for part in (self.record, self.field) if part)
        return f"{where}: {self.reason}" if where else self.reason


class ImportRejected(Exception):
    """The file was refused; nothing was written. ``errors`` lists every problem found."""

    def __init__(self, errors: list[RecordError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def file_error(reason: str, where: str = "") -> ImportRejected:
    """An ImportRejected for a problem with the file as a whole (size, encoding, syntax)."""
    return ImportRejected([RecordError(where, "", reason)])


@dataclass(frozen=True)
class Location:
    """Where a record of the document came from in a spreadsheet."""

    sheet: str
    row: int
    #: document field → column header as written in the file
    columns: dict[str, str]


@dataclass
class SourceMap:
    """Maps document paths back to sheet rows and columns, so errors name what the user sees.

    ``show_sheet`` is False for CSV (one sheet, so "row 7" says it all) and True for XLSX.
    ``errors`` holds problems found while turning rows into records (already located).
    """

    show_sheet: bool
    locations: dict[str, Location] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)

    def describe(self, location: Location) -> str:
        """ "row 7" or "sheet assets, row 7"."""
        if self.show_sheet:
            return _("sheet {sheet}, row {row}").format(sheet=location.sheet, row=location.row)
        return _("row {row}").format(row=location.row)

    def find(self, path: str) -> Location | None:
        """The location of ``path`` or of the nearest enclosing record."""
        while path:
            location = self.locations.get(path)
            if location is not None:
                return location
            parent = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", path)
            if parent == path:
                break
            path = parent
        return None

    def locate(self, path: str, name: str, reason: str) -> RecordError:
        """A RecordError for ``path``/``name`` in the user's terms (row and column header)."""
        location = self.find(path)
        if location is None:
            return RecordError(path, name, reason)
        return self.at(location, name, reason)

    def at(self, location: Location, name: str, reason: str) -> RecordError:
        """A RecordError for field ``name`` of the row at ``location``."""
        column = location.columns.get(name)
        if column is None and (name in PLACE_COLUMNS or name == PLACE):
            column = location.columns.get(PLACE)
        return RecordError(self.describe(location), column or name, reason, spreadsheet=True)
