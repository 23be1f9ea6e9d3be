"""Imports run one way: a lower layer never reaches up (see ``support/import_layers.py``)."""

from export_platform_tests.support.import_layers import FORBIDDEN, imports, upward_imports


def test_no_import_runs_against_the_layers() -> None:
    assert upward_imports() == []


def test_the_check_sees_imports_inside_functions_and_from_package_imports() -> None:
    """The checker itself: a lazy import in a function body and ``from export_platform import x`` count."""
    found = imports()
    assert "export_platform.render.pdf" in found["export_platform.exports.formats"]  # imported lazily
    # from export_platform import settings
    assert "export_platform.settings" in found["export_platform.cli.demo"]
    assert "dagster" in FORBIDDEN["export_platform.render"]
