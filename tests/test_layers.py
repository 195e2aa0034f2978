"""The package's layers import downward only (../shared/DESIGN.md "Layers", STYLE.md item 1).

Each module's imports of other pyvswitch packages are read from its source (``import``/``from`` statements at any
depth, including inside functions; relative imports stay within their own package) and checked against ORDER.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "pyvswitch"

# Highest first.  A package may import itself and anything listed after it; util/ and schemas/ are libraries
# under everything.
ORDER = ["cli", "vswitchd", "ovn", "db", "openflow", "ofproto", "dpif", "netdev", "classifier", "flow", "packet",
         "util", "schemas"]


def upward_imports(source: str, layer: str) -> list[str]:
    """The pyvswitch packages ``source`` (a module of package ``layer``) imports that sit above ``layer``."""
    allowed = set(ORDER[ORDER.index(layer):])
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "pyvswitch" and len(parts) > 1 and parts[1] in ORDER and parts[1] not in allowed:
                found.append(parts[1])
    return found


def test_imports_go_downward() -> None:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if len(rel.parts) == 1:
            continue                  # pyvswitch/__init__.py
        assert rel.parts[0] in ORDER, f"{rel.parts[0]} is not placed in ORDER"
        bad += [f"{rel} imports pyvswitch.{up}" for up in upward_imports(path.read_text(), rel.parts[0])]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_the_check_finds_upward_imports() -> None:
    assert upward_imports("def f():\n    from pyvswitch.ofproto import table\n", "flow") == ["ofproto"]
    assert upward_imports("import pyvswitch.cli.ofctl\n", "db") == ["cli"]
    assert upward_imports("from pyvswitch.flow import fields\nfrom . import x\n", "ofproto") == []
