"""Locations of the shared corpus, resolved at import time so tests can be parametrized on it."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
CSAF_ICSMA = sorted((CORPUS / "csaf" / "cisa-icsma").glob("*.json"))
NVD_RECORDS = sorted((CORPUS / "nvd").glob("*/*.json"))
JVN_DETAILS = sorted((CORPUS / "jvn" / "myjvn-hnd-3.2").glob("getVulnDetailInfo_*.xml"))
