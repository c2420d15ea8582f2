"""atheris harness: register files (JSON, CSV, XLSX) through the reader and the importer."""

from __future__ import annotations

import _harness
import atheris

_harness.setup_django()
with atheris.instrument_imports(include=["medshield", "openpyxl", "csv"]):
    from medshield.register.errors import ImportRejected
    from medshield.register.importer import import_document
    from medshield.register.readers import read_register


def target(data: bytes) -> None:
    try:
        parsed = read_register(data, filename="register")
        _harness.rolled_back(lambda: import_document(parsed.document, source=parsed.source))
    except ImportRejected:
        pass


if __name__ == "__main__":
    _harness.run(target)
