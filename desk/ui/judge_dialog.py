"""What *Judge run…* and *Judge these answers…* ask before judging (issue 14): the judge
model, whether it is shown the tasks' images, and its temperature — the choices
`desk judge` takes as --judge, --images/--no-images and --temperature, with the same
defaults (images as the judge model takes them, temperature 0). The rules stay below:
the engine decides what "as the model takes them" means and which models take no
temperature; the typed temperature is read by desk.core.judge.parse_temperature."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from desk.core.judge import parse_temperature
from desk.core.trial import ModelRef, ModelRefError
from desk.engine.services.judge import JUDGE_TEMPERATURE

# The images choice: its label and what the engine is passed (None: as the judge model takes them).
IMAGES = (("As the judge model takes them", None), ("Send the images", True), ("Do not send images", False))


class JudgeDialog(QDialog):
    """`takes_images(ref)` says whether a model takes images and on whose word (shown for
    the default choice)."""

    def __init__(self, models: list[str], takes_images: Callable[[ModelRef], tuple[bool | None, str]],
                 parent: QWidget | None = None, title: str = "Judge run") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._takes_images = takes_images
        form = QFormLayout(self)
        self.model = QComboBox()
        self.model.setObjectName("judgeModel")
        self.model.addItems(models)
        form.addRow("Judge model:", self.model)
        self.images = QComboBox()
        self.images.setObjectName("judgeImages")
        for label, value in IMAGES:
            self.images.addItem(label, value)
        self.images.setToolTip("Whether the judge sees the tasks' images (desk judge --images / --no-images)")
        form.addRow("Images:", self.images)
        self.images_note = QLabel()
        self.images_note.setWordWrap(True)
        form.addRow("", self.images_note)
        self.temperature = QLineEdit(f"{JUDGE_TEMPERATURE:g}")
        self.temperature.setObjectName("judgeTemperature")
        self.temperature.setToolTip("A number (0: deterministic), or 'default' for the vendor's own "
                                    "(desk judge --temperature)")
        form.addRow("Temperature:", self.temperature)
        self.problem = QLabel()
        self.problem.setObjectName("judgeProblem")
        self.problem.setVisible(False)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Judge")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.model.currentTextChanged.connect(self._note_images)
        self._note_images(self.model.currentText())

    def _note_images(self, model: str) -> None:
        try:
            self.images_note.setText(self._takes_images(ModelRef.parse(model))[1] if model else "")
        except ModelRefError:
            self.images_note.setText("")

    def chosen(self) -> tuple[str, bool | None, float | None]:
        """The judge model, the images choice (None: as it takes them) and the temperature
        (None: the vendor's default); ValueError for a temperature that is no number."""
        return self.model.currentText(), self.images.currentData(), parse_temperature(self.temperature.text())

    def _accept(self) -> None:
        try:
            self.chosen()
        except ValueError as exc:
            self.problem.setText(f"Temperature: {exc}")
            self.problem.setVisible(True)
            return
        self.accept()
