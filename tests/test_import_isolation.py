"""`line` must import without textual or rich (DESIGN: layers point down only)."""

import subprocess
import sys
import textwrap


def test_line_imports_without_textual_or_rich() -> None:
    code = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("textual", "rich"):
                    raise ImportError(f"blocked {name}")
                return None
        sys.meta_path.insert(0, Block())
        import line, line.events, line.bus, line.routes, line.trace
        import pkgutil
        for mod in pkgutil.walk_packages(line.__path__, "line."):
            __import__(mod.name)
        assert not any(m.split(".")[0] in ("textual", "rich") for m in sys.modules)
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


MODEL_PACKAGE = "line_tui.model"


def blocked_import_check(package: str) -> subprocess.CompletedProcess[str]:
    """Import ``package`` and every module under it with textual and rich made unimportable."""
    code = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("textual", "rich"):
                    raise ImportError(f"blocked {{name}}")
                return None
        sys.meta_path.insert(0, Block())
        import importlib, pkgutil
        package = importlib.import_module({package!r})
        for mod in pkgutil.walk_packages(package.__path__, {package!r} + "."):
            __import__(mod.name)
        assert not any(m.split(".")[0] in ("textual", "rich") for m in sys.modules)
        print("ok")
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def lazy_imports_of_ui_libraries(package: str) -> list[str]:
    """Imports of textual/rich anywhere in ``package``'s source, also inside functions (which an
    import alone would not run)."""
    import ast
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    found = []
    for path in sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            found += [f"{path.name}:{node.lineno} {name}" for name in names
                      if name.split(".")[0] in ("textual", "rich")]
    return found


def test_the_tui_state_model_imports_without_textual_or_rich() -> None:
    """DESIGN: the state model is pure Python (folds trace records into view state)."""
    result = blocked_import_check(MODEL_PACKAGE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert lazy_imports_of_ui_libraries(MODEL_PACKAGE) == []
