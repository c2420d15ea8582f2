"""atheris harness: discovery evidence readers (pcap/pcapng, nmap XML, Zeek logs), called
directly so that a reader's crash is not hidden behind the import's catch-all."""

from __future__ import annotations

import _harness
import atheris

_harness.setup_django()
with atheris.instrument_imports(include=["medshield"]):
    from medshield.discovery.nmap import NmapError, read_nmap
    from medshield.discovery.pcap import CaptureError, read_capture
    from medshield.discovery.zeek import ZeekError, read_zeek


def target(data: bytes) -> None:
    path = _harness.temp_file(data, "evidence")
    try:
        read_capture(path)
    except CaptureError:
        pass
    try:
        read_nmap(path)
    except NmapError:
        pass
    try:
        read_zeek(path)
    except ZeekError:
        pass


if __name__ == "__main__":
    _harness.run(target)
