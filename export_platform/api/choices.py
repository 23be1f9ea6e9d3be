"""The closed sets a query parameter takes, read from the catalog and the tables, as types that
FastAPI validates (422 naming the choices) and documents as enums. Type checkers see plain ``str``:
the sets are only known when the module runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias

from export_platform.catalog import EXPORT_FORMATS, FORMAT_NAMES
from export_platform.tracking.history_statistics import PERIODS
from export_platform.tracking.schema import EXPORT_STATUSES

if TYPE_CHECKING:
    Dataset: TypeAlias = str
    Format: TypeAlias = str
    Status: TypeAlias = str
    Period: TypeAlias = str
else:
    Dataset = Literal[tuple(EXPORT_FORMATS)]
    Format = Literal[FORMAT_NAMES]
    Status = Literal[EXPORT_STATUSES]
    Period = Literal[PERIODS]
