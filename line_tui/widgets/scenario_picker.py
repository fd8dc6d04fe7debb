"""Pick a built-in scenario (one per pattern of the spec)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class ScenarioPicker(ModalScreen[str | None]):
    DEFAULT_CSS = """
    ScenarioPicker { align: center middle; }
    ScenarioPicker > OptionList { width: 80; height: auto; max-height: 80%; border: round $accent; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, scenarios: dict[str, str], current: str | None) -> None:
        super().__init__()
        self.scenarios = scenarios
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(f"{name:<14} {doc}", id=name) for name, doc in self.scenarios.items()]
        picker = OptionList(*options)
        if self.current in self.scenarios:
            picker.highlighted = list(self.scenarios).index(self.current)
        yield picker

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
