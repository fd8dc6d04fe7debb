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
