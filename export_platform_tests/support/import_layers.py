"""The layers of the code and which way their imports run, read from the source with ``ast`` (every
import statement, including those inside functions).

Run ``python -m export_platform_tests.support.import_layers`` to print each package's imports of the
others and any that run the wrong way; ``test_import_layers.py`` fails on the first such import.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("export_platform", "export_platform_downstream")

# package -> what it must never import. Lower layers know nothing of the ones built on them:
# source -> datasets -> reports -> render, with storage (bytes) and tracking (history) beside them.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "export_platform.render": (
        "dagster",
        "export_platform.datasets",
        "export_platform.source",
        "export_platform.storage",
        "export_platform.exports",
        "export_platform.reports",
        "export_platform.tracking",
        "export_platform.automation",
    ),
    "export_platform.storage": (
        "export_platform.datasets",
        "export_platform.exports",
        "export_platform.render",
        "export_platform.reports",
        "export_platform.automation",
    ),
    "export_platform.source": (
        "export_platform.datasets",
        "export_platform.reports",
        "export_platform.render",
        "export_platform.storage",
        "export_platform.exports",
        "export_platform.automation",
        "export_platform.tracking",
    ),
    "export_platform.datasets": (
        "export_platform.reports",
        "export_platform.render",
        "export_platform.exports",
        "export_platform.automation",
    ),
    "export_platform.reports": (
        "dagster",
        "export_platform.storage",
        "export_platform.exports",
        "export_platform.automation",
        "export_platform.tracking",
    ),
    "export_platform.tracking": ("export_platform.exports", "export_platform.automation"),
    "export_platform.errors": ("export_platform",),
    "export_platform.retries": (
        "export_platform.automation",
        "export_platform.datasets",
        "export_platform.exports",
        "export_platform.tracking",
    ),
}
# The modules that wire everything together sit on top: nothing in the packages imports them.
WIRING = (
    "export_platform.resources",
    "export_platform.definitions",
    "export_platform.cli",
    "export_platform.api",
)
for _package in ("source", "datasets", "reports", "render", "storage", "tracking", "exports", "automation"):
    FORBIDDEN[f"export_platform.{_package}"] = (*FORBIDDEN.get(f"export_platform.{_package}", ()), *WIRING)

# The downstream example is what consumers copy: it uses the public consumer API only.
ONLY_ALLOWED: dict[str, tuple[str, ...]] = {
    "export_platform_downstream": ("export_platform.consumer", "export_platform_downstream"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports() -> dict[str, set[str]]:
    """Every module of our packages -> the modules it imports (ours and dagster's), absolute names."""
    found: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = _module_name(path)
            base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found[module].update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        anchor = base[: len(base) - node.level + 1]
                        name = ".".join([*anchor, *([node.module] if node.module else [])])
                    else:
                        name = node.module or ""
                    # ``from export_platform import settings`` imports the module export_platform.settings
                    found[module].update(
                        f"{name}.{alias.name}" if _is_module(f"{name}.{alias.name}") else name
                        for alias in node.names
                    )
    return {m: {n for n in names if n.split(".")[0] in (*PACKAGES, "dagster")} for m, names in found.items()}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def upward_imports() -> list[str]:
    """``module imports name``, for every import that runs against the layers."""
    wrong = []
    for module, names in sorted(imports().items()):
        for package, banned in FORBIDDEN.items():
            if _within(module, package):
                wrong += [
                    f"{module} imports {n}" for n in sorted(names) if any(_within(n, b) for b in banned)
                ]
        for package, allowed in ONLY_ALLOWED.items():
            if _within(module, package):
                wrong += [
                    f"{module} imports {n}"
                    for n in sorted(names)
                    if n != "dagster" and not any(_within(n, a) for a in allowed)
                ]
    return wrong


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "export_platform" else parts[0]


def package_graph() -> dict[str, set[str]]:
    """Each package (``export_platform.<sub>`` or top-level module) -> the other packages it imports."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, names in imports().items():
        for name in names:
            if package_of(name) != package_of(module):
                graph[package_of(module)].add(package_of(name))
    return graph


def main() -> int:
    for package, targets in sorted(package_graph().items()):
        print(f"{package} -> {', '.join(sorted(targets))}")
    wrong = upward_imports()
    print(f"\n{len(wrong)} import(s) against the layers" + (":" if wrong else "."))
    for line in wrong:
        print(f"  {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
