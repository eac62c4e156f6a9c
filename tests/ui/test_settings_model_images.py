"""Providers dialog, Models tab: per model, whether it takes images (issue 14: a judge is
shown a task's images only when its model does). It shows what desk assumes and on whose
word (the model family's, or yours), and stores your yes / no / family choice."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from desk.core.provider import ProviderConfig
from desk.core.trial import ModelRef
from tests.ui.test_settings_dialog import (  # noqa: F401 (fixtures)
    settings_db,
    settings_dialog,
    settings_engine,
    settings_loop,
)


def _select(dialog, model: str) -> None:
    items = dialog.model_list.findItems(model, Qt.MatchFlag.MatchExactly)
    dialog.model_list.setCurrentItem(items[0])


def test_a_models_image_support_is_shown_and_set(qtbot, settings_engine, settings_dialog):  # noqa: F811
    settings_engine.providers.save_provider(ProviderConfig("loc", "ollama", "http://127.0.0.1:9"), new=True)
    for model in ("llava:7b", "mystery"):
        settings_engine.providers.add_model(ModelRef("loc", model))
    settings_dialog.select_provider("loc")
    _select(settings_dialog, "llava:7b")
    assert settings_dialog.model_images.isEnabled()
    assert settings_dialog.model_images.currentIndex() == 0  # the family's word
    assert settings_dialog.model_images_why.text() == "loc/llava:7b takes images (its model family)"
    _select(settings_dialog, "mystery")
    assert "does not know whether loc/mystery takes images" in settings_dialog.model_images_why.text()
    settings_dialog.model_images.setCurrentIndex(1)
    settings_dialog.model_images.activated.emit(1)  # as a person picking "yes"
    assert settings_engine.providers.takes_images(ModelRef("loc", "mystery")) == (
        True, "loc/mystery takes images (set for the model)")
    assert settings_dialog.model_images_why.text() == "loc/mystery takes images (set for the model)"
    _select(settings_dialog, "llava:7b")
    settings_dialog.model_images.setCurrentIndex(2)
    settings_dialog.model_images.activated.emit(2)  # "no" overrides the family
    assert settings_engine.providers.takes_images(ModelRef("loc", "llava:7b"))[0] is False
    _select(settings_dialog, "mystery")
    assert settings_dialog.model_images.currentIndex() == 1  # read back from the store
