"""atheris harness: vulnerability feeds (NVD, CSAF, KEV, JVN, EPSS, gzip'd) via import_path."""

from __future__ import annotations

import _harness
import atheris

_harness.setup_django()
with atheris.instrument_imports(include=["medshield"]):
    from medshield.vulns.importers import FeedRejected, import_path


def target(data: bytes) -> None:
    path = _harness.temp_file(data, "feed")
    try:
        _harness.rolled_back(lambda: import_path(path))
    except FeedRejected:
        pass


if __name__ == "__main__":
    _harness.run(target)
