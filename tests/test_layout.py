"""The package's layers read top-down: no module imports from a layer above its own (docs/tests.md "Layout")."""

import ast

from tests.conftest import REPO

# bottom to top: one-line errors; the shared helpers; data (decoding, shards, the renderers); what builds on data
# (media, the networks); the file formats; motion and metrics; inversion; the photo job; training; page, sweeps; CLIs.
# data_prep (entry points: user folders, the benchmark photos) sits above them all, and nothing imports it.
LAYERS = {
    "errors": 0,
    **dict.fromkeys(("config", "files", "frozen", "hardware", "loggers"), 1),
    "data": 2,
    "media": 3,
    "models": 3,
    "noise_warp": 3,
    "checkpoints": 4,
    "animation": 5,
    "metrics": 6,
    "inversion": 7,
    "photo": 8,
    "training": 9,
    "demo": 10,
    "sweep": 10,
    "cli": 11,
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


def test_nothing_in_the_package_imports_data_prep_and_data_prep_only_uses_the_package():
    """data_prep holds entry points (a user's folders, the benchmark photos); the package never reaches up to it."""
    for path in (REPO / "dl_lightning").rglob("*.py"):
        text = path.read_text()
        assert "import data_prep" not in text and "from data_prep" not in text, path.relative_to(REPO)
    for path in (REPO / "data_prep").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("data_prep"):
                raise AssertionError(f"{path.relative_to(REPO)}: entry points do not import one another")
