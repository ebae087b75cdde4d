"""The layers of docs/ARCHITECTURE.md, held against the code: every import of every module of
the package (lazy ones inside functions too) points to a lower layer, never sideways or up, and
never into another subpackage's private modules or names. A new arrow is a change of the
architecture: make it in the document and here, or don't make it."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "liveexec"

# Lowest first. A package may import the packages of lower layers only: siblings in one layer
# (backtesting and trading, nodes and promotion, ...) never import each other.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "_version", "examples"}),
    frozenset({"config"}),
    frozenset({"db"}),
    frozenset({"data", "runs"}),
    frozenset({"recording", "risk", "analysis"}),
    frozenset({"nodes", "promotion"}),
    frozenset({"backtesting", "trading"}),
    frozenset({"demo", "pipeline", "ops"}),
    frozenset({"cli"}),
    frozenset({"__init__", "__main__"}),
)
LAYER_OF = {name: index for index, layer in enumerate(LAYERS) for name in layer}


@dataclass(frozen=True)
class Arrow:
    source: str  # a file, relative to the repository
    importer: str  # its package: the top-level module under liveexec/
    target: str  # the imported dotted module, liveexec.x.y
    names: tuple[str, ...]  # what `from ... import` takes
    line: int

    def __str__(self) -> str:
        taken = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.source}:{self.line} -> {self.target}{taken}"


def _package_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def arrows() -> list[Arrow]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "_migrations" in path.parts or "_notebooks" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        importer = _package_of(path)
        source = str(path.relative_to(PACKAGE.parent))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "liveexec":  # from liveexec import x: modules or names
                    for alias in node.names:
                        found.append(
                            Arrow(source, importer, f"liveexec.{alias.name}", (), node.lineno)
                        )
                elif node.module.startswith("liveexec."):
                    names = tuple(alias.name for alias in node.names)
                    found.append(Arrow(source, importer, node.module, names, node.lineno))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("liveexec."):
                        found.append(Arrow(source, importer, alias.name, (), node.lineno))
    return found


def _target_package(arrow: Arrow) -> str:
    return arrow.target.split(".")[1]


def test_every_package_is_in_a_layer() -> None:
    names = {
        path.name.removesuffix(".py")
        for path in PACKAGE.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or path.suffix == ".py"
    }
    missing = sorted(names - set(LAYER_OF))
    assert missing == [], f"packages without a layer: {missing} (add them to LAYERS and the docs)"


def test_imports_point_down_only() -> None:
    wrong = []
    for arrow in arrows():
        target = _target_package(arrow)
        if target == arrow.importer:
            continue
        if LAYER_OF[target] >= LAYER_OF[arrow.importer]:
            wrong.append(f"{arrow} (layer {LAYER_OF[arrow.importer]} -> {LAYER_OF[target]})")
    assert wrong == [], "imports sideways or up:\n" + "\n".join(wrong)


def test_no_package_reaches_into_anothers_private_parts() -> None:
    wrong = []
    for arrow in arrows():
        if _target_package(arrow) == arrow.importer:
            continue
        private_module = any(part.startswith("_") for part in arrow.target.split(".")[2:])
        private_names = [
            name for name in arrow.names if name.startswith("_") and not name.startswith("__")
        ]
        if private_module or private_names:
            wrong.append(str(arrow))
    assert wrong == [], "private modules or names of another package:\n" + "\n".join(wrong)


def test_the_contract_sees_imports_it_must_refuse(tmp_path: Path) -> None:
    """The checks above are not vacuous: the arrows found include lazy imports inside functions,
    and a private cross-package import is recognised."""
    found = arrows()
    lazy = [
        a for a in found if a.source == "liveexec/cli/_config.py" and a.target == "liveexec.nodes"
    ]
    assert lazy, "the CLI's lazy imports inside commands are arrows too"
    sample = Arrow("x.py", "trading", "liveexec.runs._ledger", ("process_start",), 1)
    assert any(part.startswith("_") for part in sample.target.split(".")[2:])
    assert LAYER_OF["trading"] == LAYER_OF["backtesting"]  # siblings
