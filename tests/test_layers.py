"""The layers of DESIGN.md §2, held by the imports: a layer imports only from the layers below it.

Lowest first: ``remediate.yaml`` (the YAML engine, no Kubernetes), ``remediate.kube`` (Kubernetes
knowledge and the fixer interface), ``fixers`` (one module per fixer), ``remediate.run`` (running
over files), ``remediate.output`` (showing results) and ``remediate.cli`` (the command line, which
ties running and output together). Every import counts, those inside functions too. Only the
registry imports ``fixers``; the package root (``remediate.__version__``) is open to all.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

LAYERS = ("remediate.yaml", "remediate.kube", "fixers", "remediate.run", "remediate.output", "remediate.cli")


def layer_of(module: str) -> int | None:
    """The rank of a module's layer; None for modules outside the layers (the standard library...)."""
    for rank, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return rank
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file; ``from a import b`` counts ``a.b`` when that is a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def sources() -> list[Path]:
    return sorted([*(ROOT / "remediate").rglob("*.py"), *(ROOT / "fixers").rglob("*.py")])


def test_no_layer_imports_a_higher_one() -> None:
    back_edges = []
    for path in sources():
        importer = module_name(path)
        rank = layer_of(importer)
        if rank is None:
            continue
        for line, imported in imports(path):
            other = layer_of(imported)
            if other is not None and other > rank:
                back_edges.append(
                    f"{path.relative_to(ROOT)}:{line}: {importer} ({LAYERS[rank]}) imports {imported}"
                )
    assert not back_edges, "\n".join(back_edges)


def test_only_the_registry_imports_the_fixers() -> None:
    importers = {
        module_name(path)
        for path in sources()
        if not module_name(path).startswith("fixers")
        for _, imported in imports(path)
        if imported == "fixers" or imported.startswith("fixers.")
    }
    assert importers == {"remediate.run.registry"}


def test_every_module_is_in_a_layer() -> None:
    outside = [module_name(path) for path in sources() if layer_of(module_name(path)) is None]
    assert outside == ["remediate", "remediate.__main__"]


def test_the_check_sees_a_back_edge(tmp_path: Path) -> None:
    """The walk finds imports inside functions, and ``from package import module`` as the module."""
    source = tmp_path / "sample.py"
    source.write_text("def late():\n    from remediate.output import report\n    import remediate.cli.main\n")
    assert [(line, name) for line, name in imports(source)] == [
        (2, "remediate.output"),
        (2, "remediate.output.report"),
        (3, "remediate.cli.main"),
    ]
    assert layer_of("remediate.output.report") > layer_of("remediate.run.runner")  # type: ignore[operator]
