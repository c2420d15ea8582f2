"""The register as one document: export it, write it, read it back and import it.

This module is the public face of the register app; the work is done in
:mod:`~medshield.register.exporter` (export and writers), :mod:`~medshield.register.readers`
(JSON, CSV and XLSX readers with the Japanese header aliases of
:mod:`~medshield.register.vocabulary`) and :mod:`~medshield.register.importer`
(validation, then one transaction of bulk writes with history). The format is
docs/register-format.md.
"""

from __future__ import annotations

from medshield.register.errors import ImportRejected, Location, RecordError, SourceMap
from medshield.register.exporter import (
    CONTENT_TYPES,
    FORMAT_NAME,
    FORMAT_VERSION,
    export_bytes,
    export_document,
    write_csv,
    write_json,
    write_xlsx,
)
from medshield.register.importer import OBJECT_TYPES, ImportResult, Progress, import_document
from medshield.register.readers import (
    FORMATS,
    Column,
    ParsedFile,
    check_size,
    detect_format,
    read_path,
    read_register,
)

__all__ = [
    "CONTENT_TYPES",
    "FORMATS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "OBJECT_TYPES",
    "Column",
    "ImportRejected",
    "ImportResult",
    "Location",
    "ParsedFile",
    "Progress",
    "RecordError",
    "SourceMap",
    "check_size",
    "detect_format",
    "export_bytes",
    "export_document",
    "import_document",
    "read_path",
    "read_register",
    "write_csv",
    "write_json",
    "write_xlsx",
]
