"""Conventions every platform asset follows in the Dagster UI: its owner, how many rows a preview
shows, and links to the functions that hold its logic."""

import inspect
import warnings
from collections.abc import Callable

import dagster as dg

OWNER = "team:data-platform"
PREVIEW_ROWS = 10


def code_references(
    *targets: tuple[str, Callable[..., object]],
) -> dict[str, dg.CodeReferencesMetadataValue]:
    """Asset metadata that links the UI to the functions holding an asset's logic, besides the asset's
    own body (which ``dg.with_source_code_references`` adds in the definitions)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # stable in use; only marked beta by Dagster
        references: list[dg.LocalFileCodeReference | dg.UrlCodeReference] = [
            _local_reference(label, fn) for label, fn in targets
        ]
        return {"dagster/code_references": dg.CodeReferencesMetadataValue(code_references=references)}


def _local_reference(label: str, fn: Callable[..., object]) -> dg.LocalFileCodeReference:
    path = inspect.getsourcefile(fn)
    if path is None:
        raise ValueError(f"{label}: {fn!r} has no source file to link to")
    return dg.LocalFileCodeReference(file_path=path, line_number=inspect.getsourcelines(fn)[1], label=label)
