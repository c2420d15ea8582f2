"""atheris harness: SBOMs (CycloneDX JSON/XML, SPDX JSON/tag-value) and VEX (OpenVEX, CSAF)."""

from __future__ import annotations

import _harness
import atheris

_harness.setup_django()
with atheris.instrument_imports(include=["medshield"]):
    from medshield.register.errors import ImportRejected
    from medshield.sboms.importers import import_sbom, import_vex


def target(data: bytes) -> None:
    importer = import_vex if data[:1] == b"v" else import_sbom
    try:
        _harness.rolled_back(lambda: importer(data[1:], filename="fuzz"))
    except ImportRejected:
        pass


if __name__ == "__main__":
    _harness.run(target)
