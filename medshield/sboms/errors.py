"""Why an SBOM or VEX file was refused: the register's ImportRejected, with one file-level helper.

The SBOM and VEX importers raise :class:`~medshield.register.errors.ImportRejected` like the
register importer, so one ``except`` serves every import command (``medshield feeds import``
included). Each :class:`~medshield.register.errors.RecordError` names where in the document the
problem is (a JSON path such as ``components[3].type``, or ``line 12`` for XML and tag-value).
"""

from __future__ import annotations

from medshield.register.errors import ImportRejected, RecordError

__all__ = ["ImportRejected", "RecordError", "refuse"]


def refuse(reason: str, where: str = "") -> ImportRejected:
    """An ImportRejected for one problem, at ``where`` in the document (or the file as a whole)."""
    return ImportRejected([RecordError(where, "", reason)])
