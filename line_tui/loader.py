"""Find an agent's entry point in a file, a module or a built-in scenario.

One convention for every agent (ours and the user's): a module-level
``async def handle_new_call(system, call_request)`` (Line 0.1.x), or a ``VoiceAgentApp``
instance wrapping one. The function builds nodes and bridges, calls ``await system.start()``
and usually ``await system.wait_for_shutdown()``. It should take its LLM from ``system.llm``
so ``line-tui --base-url ...`` can swap the model without code changes.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from line.app import CallHandler, VoiceAgentApp

ENTRY_POINT_NAMES = ("app (a VoiceAgentApp)", "handle_new_call(system, call_request)")


class AgentLoadError(Exception):
    """Why an agent could not be loaded; ``details`` holds a traceback when there is one."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass
class AgentEntry:
    name: str
    handler: CallHandler
    origin: str  # the file or module it came from
    doc: str = ""


def entry_point_of(module: ModuleType, origin: str, name: str | None = None) -> AgentEntry:
    handler: object = None
    for value in vars(module).values():
        if isinstance(value, VoiceAgentApp):
            handler = value.call_handler
            break
    if handler is None:
        handler = getattr(module, "handle_new_call", None)
    if handler is None or not callable(handler):
        raise AgentLoadError(
            f"no agent entry point in {origin}: looked for " + " and ".join(ENTRY_POINT_NAMES)
        )
    if not inspect.iscoroutinefunction(handler):
        raise AgentLoadError(f"{origin}: handle_new_call must be an `async def` (got {handler!r})")
    name = name or module.__name__.rpartition(".")[2]
    doc = (inspect.getdoc(module) or "").split("\n\n")[0]
    return AgentEntry(name, handler, origin, doc)  # type: ignore[arg-type]


def load_agent(target: str) -> AgentEntry:
    """``target``: a path to a ``.py`` file, a dotted module name, or a scenario name."""
    from line_tui.scenarios import SCENARIOS

    if target in SCENARIOS:
        return entry_point_of(_import(SCENARIOS[target], target), f"scenario {target!r}")
    if target.endswith(".py") or "/" in target or Path(target).exists():
        return entry_point_of(_load_file(Path(target)), target, Path(target).stem)
    # As `python -m` would: a module of the project line-tui runs in (a console script's
    # sys.path starts with its own bin directory, not the working directory).
    _add_to_sys_path(os.getcwd())
    return entry_point_of(_import(target, target), target)


def _add_to_sys_path(directory: str) -> None:
    if directory not in sys.path:
        sys.path.insert(0, directory)


def _load_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise AgentLoadError(f"agent file not found: {path}")
    name = f"line_tui_agent_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AgentLoadError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Let the agent import modules next to it, as `python agent.py` would.
    _add_to_sys_path(str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise AgentLoadError(f"syntax error in {exc.filename or path}, line {exc.lineno}: {exc.msg}",
                             "".join(traceback.format_exception_only(exc))) from exc
    except Exception as exc:
        sys.modules.pop(name, None)
        raise AgentLoadError(f"{type(exc).__name__} while importing {path}: {exc}",
                             traceback.format_exc()) from exc
    return module


def _import(module_name: str, shown: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise AgentLoadError(f"no file, module or scenario named {shown!r}") from exc
        raise AgentLoadError(f"{type(exc).__name__} while importing {shown}: {exc}", traceback.format_exc()) from exc
    except SyntaxError as exc:
        raise AgentLoadError(f"syntax error in {exc.filename}, line {exc.lineno}: {exc.msg}",
                             "".join(traceback.format_exception_only(exc))) from exc
    except Exception as exc:
        raise AgentLoadError(f"{type(exc).__name__} while importing {shown}: {exc}", traceback.format_exc()) from exc
