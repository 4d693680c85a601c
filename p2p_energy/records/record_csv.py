"""The run's records as the CSV files of its report: one row per record, columns as `encode_record` orders them.

Below run/ so that the run's audit (run/audit.py) reads back exactly the rows the report (output/report.py)
writes, from the one writer both use.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from p2p_energy.records.record_json import encode_record


def csv_columns(record_type: type[Any]) -> list[str]:
    """CSV columns in the order `encode_record` produces its keys."""
    series = getattr(record_type, "SERIES_FIELDS", ())
    names = [f.name for f in fields(record_type) if f.name not in series]
    names += getattr(record_type, "DERIVED_FIELDS", ())
    for name in record_type.NRG_FIELDS:
        if name not in names:
            names.append(name)
        names.append(f"{name}_nrg")
    return names


def csv_bytes(record_type: type[Any], records: Sequence[Any]) -> bytes:
    """The CSV file of `records` (one row each, columns as `encode_record` orders them), as the report writes it."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=csv_columns(record_type), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(encode_record(record) for record in records)
    return buffer.getvalue().encode()
