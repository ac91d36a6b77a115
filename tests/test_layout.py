"""The package's layers read top-down: no module imports from a layer above its own (docs/tests.md "Layout")."""

import ast

from tests.conftest import REPO

# bottom to top; the shared helpers at the package's top level (config, files, errors, media, checkpoints, ...)
# are the bottom layer with data and models
LAYERS = {
    **dict.fromkeys(("config", "files", "errors", "frozen", "media", "hardware", "loggers", "checkpoints"), 0),
    "data": 0,
    "models": 0,
    "metrics": 1,
    "noise_warp": 1,
    "animation": 1,
    "inversion": 2,
    "photo": 2,
    "training": 3,
    "demo": 4,
    "sweep": 4,
    "cli": 5,
}


def imports(path):
    """Every ``dl_lightning.<part>`` a module imports, at its top or inside a function."""
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        yield from (n.split(".")[1] for n in names if n.startswith("dl_lightning."))


def test_no_module_imports_from_a_layer_above_it():
    package = REPO / "dl_lightning"
    upward = []
    for path in package.rglob("*.py"):
        part = path.relative_to(package).with_suffix("").parts[0]
        assert part in LAYERS or part == "__init__", f"{path.relative_to(REPO)}: add it to LAYERS"
        upward += [
            f"{path.relative_to(REPO)} imports dl_lightning.{t}"
            for t in imports(path)
            if LAYERS.get(t, 0) > LAYERS.get(part, 0)
        ]
    assert not upward, upward
