"""The providers/models/prices dialog, driven through its widgets against a real Engine,
a real store file and a loopback VendorServer (no mocks).

Asyncio under qtbot: see the settings_loop fixture.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.trial import ModelRef
from desk.engine.keys import get_api_key
from desk.engine.session import Engine
from desk.providers.registry import default_base_url
from desk.store.db import open_store
from desk.ui.settings_dialog import (
    COL_CACHED,
    COL_INPUT,
    COL_MODEL,
    COL_OUTPUT,
    COL_SOURCE,
    SettingsDialog,
    plain_http_to_remote,
)
from tests.vendor_server import VendorServer

KEY = "sk-test-Zq81-SECRET-key-4242"
WAIT_MS = 5000


# --- fixtures (named settings_* so they never clash with other GUI tests) ----------------


@pytest.fixture
def settings_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop marked as the thread's running loop, without exec(): every Qt event that
    qtbot processes (waitUntil, wait, clicks) then runs the loop's callbacks and socket
    notifiers too, so tasks started with asyncio.ensure_future complete while qtbot waits.

    (already_running=True would do the marking too, but its loop.stop() calls app.exit(),
    which leaves Qt's quitNow flag set: every later QEventLoop.exec() -- qtbot.wait's
    included -- then returns at once and later tests hang.)
    """
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def settings_vendor() -> Iterator[VendorServer]:
    with VendorServer() as server:
        yield server


@pytest.fixture
def settings_db(tmp_path: Path) -> Path:
    return tmp_path / "d.db"


@pytest.fixture
def settings_engine(settings_db: Path, settings_loop, qtbot) -> Iterator[Engine]:
    store = open_store(settings_db)
    engine = Engine(store)
    yield engine
    closing = asyncio.ensure_future(engine.aclose())
    qtbot.waitUntil(closing.done, timeout=WAIT_MS)
    store.close()


@pytest.fixture
def settings_dialog(qtbot, settings_engine: Engine) -> Iterator[SettingsDialog]:
    dialog = SettingsDialog(settings_engine)
    dialog.confirm = lambda title, text: True
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    yield dialog
    dialog.confirm = lambda title, text: True
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)


# --- helpers ------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def retype(qtbot, edit, text: str) -> None:
    """Replace a line edit's text by typing, as a user would."""
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.objectName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def fill_provider(qtbot, dialog: SettingsDialog, name: str, kind: str, url: str, key: str = "") -> None:
    click(qtbot, dialog.add_button)
    retype(qtbot, dialog.name_edit, name)
    dialog.kind_combo.setCurrentText(kind)
    retype(qtbot, dialog.base_url_edit, url)
    if key:
        retype(qtbot, dialog.api_key_edit, key)


def add_provider(qtbot, dialog: SettingsDialog, name: str, url: str, key: str = "") -> None:
    fill_provider(qtbot, dialog, name, "openai", url, key)
    click(qtbot, dialog.save_button)
    assert dialog.provider_status.text().startswith("Saved"), dialog.provider_status.text()


def wait_idle(qtbot, dialog: SettingsDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)


def price_row(dialog: SettingsDialog, model: str) -> int:
    table = dialog.price_table
    rows = [r for r in range(table.rowCount()) if table.item(r, COL_MODEL).text() == model]
    assert rows, f"{model} not in the price table"
    return rows[0]


def set_cells(dialog: SettingsDialog, model: str, inp: str, cached: str, out: str) -> None:
    row = price_row(dialog, model)
    for col, text in ((COL_INPUT, inp), (COL_CACHED, cached), (COL_OUTPUT, out)):
        dialog.price_table.item(row, col).setText(text)


def db_bytes(db: Path) -> bytes:
    """Every byte desk's store has on disk (the database plus its WAL and shm files)."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


# --- tests --------------------------------------------------------------------------------


def test_add_provider_through_the_form_keeps_the_key_out_of_the_store(
    qtbot, settings_dialog, settings_engine, settings_vendor, settings_db
):
    d = settings_dialog
    assert d.current_name() is None and d.form_title.text() == "<b>New provider</b>"
    # Picking a kind on a new provider fills its vendor's default base URL.
    d.kind_combo.setCurrentText("anthropic")
    assert d.base_url_edit.text() == default_base_url("anthropic")
    assert not d.api_version_edit.isEnabled()  # Azure api-version is an openai-kind setting
    d.kind_combo.setCurrentText("openai")
    assert d.base_url_edit.text() == default_base_url("openai")
    assert d.api_version_edit.isEnabled()

    add_provider(qtbot, d, "oa", settings_vendor.base_url + "/v1", KEY)

    [config] = settings_engine.providers.configs.all()
    assert config == ProviderConfig("oa", "openai", settings_vendor.base_url + "/v1")
    assert get_api_key(config) == KEY
    assert KEY.encode() not in db_bytes(settings_db)
    assert "Key stored" in d.provider_status.text()
    # The key is never shown back: the field is empty, its placeholder says one is stored.
    assert d.api_key_edit.text() == ""
    wait_idle(qtbot, d)  # the keyring is asked off the event loop
    assert d.api_key_edit.placeholderText().startswith("a key is stored")
    assert d.api_key_edit.echoMode() == d.api_key_edit.EchoMode.Password
    assert [d.provider_list.item(i).text() for i in range(d.provider_list.count())] == ["oa"]
    assert d.current_name() == "oa" and d.name_edit.isReadOnly()
    assert not d.insecure_warning.isVisibleTo(d)  # loopback http is fine

    # Editing keeps the stored key when the key field is left empty.
    retype(qtbot, d.key_env_edit, "DESK_TEST_UNSET_VAR")
    assert "not set here" in d.key_env_hint.text()
    qtbot.keyClick(d.key_env_edit, Qt.Key.Key_Return)  # Enter in a field saves
    assert settings_engine.providers.configs.all()[0].key_env == "DESK_TEST_UNSET_VAR"
    assert get_api_key(settings_engine.providers.configs.all()[0]) == KEY


def test_plain_http_to_a_remote_host_is_warned_about(qtbot, settings_dialog):
    d = settings_dialog
    retype(qtbot, d.base_url_edit, "http://gpu-box.example.com:8000/v1")
    assert d.insecure_warning.isVisibleTo(d)
    assert "unencrypted" in d.insecure_warning.text()
    retype(qtbot, d.base_url_edit, "https://gpu-box.example.com/v1")
    assert not d.insecure_warning.isVisibleTo(d)
    assert plain_http_to_remote("http://10.0.0.5:11434")
    assert plain_http_to_remote("HTTP://Example.com")
    for safe in ("http://localhost:11434", "http://127.0.0.1:8080/v1", "http://[::1]:1234",
                 "http://127.5.5.5", "http://ollama.localhost", "https://api.openai.com/v1", "nonsense"):
        assert not plain_http_to_remote(safe), safe


def test_test_button_shows_ms_or_the_exact_error(qtbot, settings_dialog, settings_engine, settings_vendor):
    d = settings_dialog
    settings_vendor.api_key = KEY
    add_provider(qtbot, d, "oa", settings_vendor.base_url + "/v1", KEY)

    click(qtbot, d.test_button)
    assert not d.test_button.isEnabled()  # disabled while the call runs
    assert d.provider_status.text() == "Testing oa…"
    wait_idle(qtbot, d)
    assert d.test_button.isEnabled()
    assert re.fullmatch(r"OK · \d+ ms", d.provider_status.text()), d.provider_status.text()
    assert d.provider_status.property("kind") == "ok"

    # A wrong key: the kind, the HTTP status and the vendor's own message.
    settings_vendor.api_key = "sk-the-right-one"
    click(qtbot, d.test_button)
    wait_idle(qtbot, d)
    assert d.provider_status.text() == (
        "auth (HTTP 401): Incorrect API key provided: sk-***4242. You can find your API key at "
        "https://platform.openai.com/account/api-keys. [invalid_request_error]"
    )
    assert d.provider_status.property("kind") == "error"

    # Nothing listening: the engine's own error text, word for word. Test saves the form first.
    fill_provider(qtbot, d, "dead", "openai", f"http://127.0.0.1:{closed_port()}/v1")
    click(qtbot, d.test_button)
    assert [p.name for p in settings_engine.providers.configs.all()] == ["dead", "oa"]
    wait_idle(qtbot, d)
    shown = d.provider_status.text()

    direct = asyncio.ensure_future(settings_engine.providers.test_provider("dead"))
    qtbot.waitUntil(direct.done, timeout=WAIT_MS)
    assert shown == str(direct.exception())
    assert shown.startswith("connection")


def test_list_models_then_add_checked_and_remove_unchecked(
    qtbot, settings_engine, settings_vendor, settings_loop
):
    settings_engine.providers.save_provider(ProviderConfig("oa", "openai", settings_vendor.base_url + "/v1"), new=True)
    settings_engine.providers.add_model(ModelRef("oa", "gpt-4o"))
    settings_engine.providers.add_model(ModelRef("oa", "retired-model"))
    d = SettingsDialog(settings_engine)
    d.confirm = lambda title, text: True
    qtbot.addWidget(d)
    d.show()
    assert d.current_name() == "oa"
    d.tabs.setCurrentIndex(1)
    assert d.model_items() == {"gpt-4o": True, "retired-model": True}  # configured, before listing

    click(qtbot, d.list_models_button)
    assert not d.list_models_button.isEnabled()
    wait_idle(qtbot, d)
    assert d.list_models_button.isEnabled()
    served = sorted(settings_vendor.models["openai"])
    items = d.model_items()
    assert list(items) == [*served, "retired-model"]
    assert {m for m, on in items.items() if on} == {"gpt-4o", "retired-model"}
    assert d.models_status.text().startswith(f"{len(served)} models listed")

    d.model_filter.setText("mini")
    visible = [d.model_list.item(i).text() for i in range(d.model_list.count())
               if not d.model_list.item(i).isHidden()]
    assert visible == [m for m in served if "mini" in m]
    d.model_filter.clear()

    d.set_model_checked("gpt-4o-mini", True)
    d.set_model_checked("o3-mini", True)
    d.set_model_checked("retired-model", False)
    with qtbot.waitSignal(d.models_changed, timeout=1000):
        click(qtbot, d.apply_models_button)
    assert sorted(map(str, settings_engine.providers.configured_models())) == [
        "oa/gpt-4o", "oa/gpt-4o-mini", "oa/o3-mini",
    ]
    assert d.models_status.text() == "Added 2, removed 1."

    # By hand, for servers that cannot list.
    retype(qtbot, d.manual_model_edit, "ft:gpt-4o-mini:acme:v2")
    qtbot.keyClick(d.manual_model_edit, Qt.Key.Key_Return)
    assert ModelRef("oa", "ft:gpt-4o-mini:acme:v2") in settings_engine.providers.configured_models()
    assert d.model_items()["ft:gpt-4o-mini:acme:v2"] is True
    assert d.price_table.rowCount() == 4  # the price table follows the configured models

    # Listing again keeps checks not applied yet.
    d.set_model_checked("o3-mini", False)
    click(qtbot, d.list_models_button)
    wait_idle(qtbot, d)
    assert d.model_items()["o3-mini"] is False and d.model_items()["gpt-4o-mini"] is True
    click(qtbot, d.apply_models_button)
    assert ModelRef("oa", "o3-mini") not in settings_engine.providers.configured_models()

    # A list-models failure is said in the dialog.
    settings_vendor.api_key = "needed"
    click(qtbot, d.list_models_button)
    wait_idle(qtbot, d)
    assert d.models_status.text().startswith("auth (HTTP 401): provider 'oa' has no API key (the OS keyring has "
                                             "none for it): add one with 'desk provider set-key oa' or under "
                                             "Providers; the server said: You didn't provide an API key")
    d.reject()


def test_prices_saved_shown_and_cleared(qtbot, settings_engine, settings_vendor, settings_loop):
    settings_engine.providers.save_provider(ProviderConfig("local", "ollama", settings_vendor.base_url), new=True)
    ref = ModelRef("local", "llama3.2:latest")
    settings_engine.providers.add_model(ref)
    d = SettingsDialog(settings_engine)
    d.confirm = lambda title, text: True
    qtbot.addWidget(d)
    d.show()
    d.tabs.setCurrentIndex(2)
    row = price_row(d, "llama3.2:latest")
    assert d.price_table.item(row, COL_SOURCE).text() == "no price"  # ollama: never in the catalog

    set_cells(d, "llama3.2:latest", "0.15", "", "$0.6")
    click(qtbot, d.save_prices_button)
    assert settings_engine.providers.price(ref) == (Price(0.15, 0.6), "user")
    assert d.price_table.item(row, COL_SOURCE).text() == "yours"
    assert d.price_table.item(row, COL_OUTPUT).text() == "0.6"
    assert d.prices_status.text() == "Saved 1 price(s)."

    set_cells(d, "llama3.2:latest", "0.15", "0.075", "0.6")
    click(qtbot, d.save_prices_button)
    assert settings_engine.providers.price(ref) == (Price(0.15, 0.6, 0.075), "user")

    # Emptying the row and saving removes your price; so does Clear price.
    set_cells(d, "llama3.2:latest", "", "", "")
    click(qtbot, d.save_prices_button)
    assert settings_engine.providers.price(ref) == (None, None)
    assert d.price_table.item(row, COL_SOURCE).text() == "no price"

    settings_engine.providers.set_price(ref, Price(1, 2))
    d.select_provider("local")
    d.price_table.setCurrentCell(row, COL_INPUT)
    click(qtbot, d.clear_price_button)
    assert settings_engine.providers.price(ref) == (None, None)
    assert d.price_table.item(row, COL_INPUT).text() == ""
    d.reject()


def test_invalid_input_is_said_in_red_and_nothing_is_saved(
    qtbot, settings_dialog, settings_engine, settings_vendor
):
    d = settings_dialog
    fill_provider(qtbot, d, "bad", "openai", "ftp://example.com")
    click(qtbot, d.save_button)
    assert "must start with http:// or https://" in d.provider_status.text()
    assert d.provider_status.text().startswith("Not saved")
    assert d.provider_status.property("kind") == "error"
    assert settings_engine.providers.configs.all() == []

    retype(qtbot, d.name_edit, "a/b")
    retype(qtbot, d.base_url_edit, settings_vendor.base_url + "/v1")
    click(qtbot, d.save_button)
    assert "no '/'" in d.provider_status.text()
    assert settings_engine.providers.configs.all() == []

    # A name that exists already is refused, not overwritten.
    add_provider(qtbot, d, "oa", settings_vendor.base_url + "/v1")
    fill_provider(qtbot, d, "oa", "ollama", "http://127.0.0.1:1")
    click(qtbot, d.save_button)
    assert "already exists" in d.provider_status.text()
    assert settings_engine.providers.configs.all() == [ProviderConfig("oa", "openai", settings_vendor.base_url + "/v1")]

    # Prices: negative, non-numeric, half-filled rows save nothing at all, not even valid rows.
    d.select_provider("oa")
    for model in ("m1", "m2"):
        settings_engine.providers.add_model(ModelRef("oa", model))
    d.select_provider("oa")
    d.tabs.setCurrentIndex(2)
    cases = [
        (("-1", "", "2"), "m2: Input $/Mtok cannot be negative"),
        (("abc", "", "2"), "m2: Input $/Mtok 'abc' is not a number"),
        (("1", "", ""), "m2: give both the input and the output price"),
        (("1", "nan", "2"), "m2: Cached input $/Mtok must be a finite number"),
    ]
    for (inp, cached, out), message in cases:
        set_cells(d, "m1", "3", "", "4")  # a valid row alongside
        set_cells(d, "m2", inp, cached, out)
        click(qtbot, d.save_prices_button)
        assert d.prices_status.text().startswith("Nothing saved: " + message), d.prices_status.text()
        assert d.prices_status.property("kind") == "error"
        assert settings_engine.providers.price(ModelRef("oa", "m1"))[0] is None
        assert settings_engine.providers.price(ModelRef("oa", "m2"))[0] is None


def test_remove_asks_first_and_deletes_the_key(qtbot, settings_dialog, settings_engine, settings_vendor):
    d = settings_dialog
    add_provider(qtbot, d, "oa", settings_vendor.base_url + "/v1", KEY)
    config = settings_engine.providers.configs.all()[0]
    asked: list[str] = []

    def say_no(title: str, text: str) -> bool:
        asked.append(text)
        return False

    d.confirm = say_no
    click(qtbot, d.remove_button)
    assert asked and "Remove oa?" in asked[0]
    assert [p.name for p in settings_engine.providers.configs.all()] == ["oa"]

    d.confirm = lambda title, text: True
    click(qtbot, d.remove_button)
    assert settings_engine.providers.configs.all() == []
    assert get_api_key(config) is None
    assert d.current_name() is None and d.provider_list.count() == 0
    assert not d.remove_button.isEnabled()


def test_unsaved_changes_are_not_dropped_silently(qtbot, settings_dialog, settings_engine, settings_vendor):
    d = settings_dialog
    add_provider(qtbot, d, "one", settings_vendor.base_url + "/v1")
    add_provider(qtbot, d, "two", settings_vendor.base_url + "/v1")
    retype(qtbot, d.base_url_edit, "https://changed.example.com/v1")
    asked: list[str] = []

    def say_no(title: str, text: str) -> bool:
        asked.append(text)
        return False

    d.confirm = say_no
    d.provider_list.setCurrentRow(0)  # try to switch to "one"
    assert asked == ["Discard unsaved provider settings of two?"]
    assert d.current_name() == "two" and d.provider_list.currentItem().text() == "two"
    assert d.base_url_edit.text() == "https://changed.example.com/v1"

    d.reject()  # Close / Esc asks too
    assert len(asked) == 2 and d.isVisible()

    d.confirm = lambda title, text: True
    d.provider_list.setCurrentRow(0)
    assert d.current_name() == "one"
    assert settings_engine.providers.configs.all()[1].base_url == settings_vendor.base_url + "/v1"


def test_keyboard_tab_order_and_object_names(qtbot, settings_dialog):
    d = settings_dialog
    for name in ("providerList", "addProviderButton", "removeProviderButton", "nameEdit", "kindCombo",
                 "baseUrlEdit", "apiKeyEdit", "keyEnvEdit", "apiVersionEdit", "insecureWarning",
                 "saveProviderButton", "testProviderButton", "providerStatus", "listModelsButton",
                 "modelFilter", "modelList", "applyModelsButton", "manualModelEdit",
                 "addManualModelButton", "modelsStatus", "priceTable", "savePricesButton",
                 "clearPriceButton", "pricesStatus", "closeButton", "settingsTabs"):
        assert d.findChild(object, name) is not None, name
    d.activateWindow()
    d.name_edit.setFocus()
    qtbot.waitUntil(d.name_edit.hasFocus, timeout=1000)
    order = []
    for _ in range(6):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget().objectName())
    assert order == ["kindCombo", "baseUrlEdit", "apiKeyEdit", "keyEnvEdit", "apiVersionEdit",
                     "saveProviderButton"]
    # No button is a default: Enter in a field never closes the dialog.
    assert not any(b.autoDefault() or b.isDefault() for b in d.findChildren(type(d.close_button)))


def test_the_dialog_stays_responsive_and_closing_cancels_a_running_call(qtbot, settings_dialog):
    d = settings_dialog
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        add_provider(qtbot, d, "slow", f"http://127.0.0.1:{silent.getsockname()[1]}/v1")
        click(qtbot, d.test_button)
        qtbot.wait(150)
        assert d.busy() and not d.test_button.isEnabled()
        retype(qtbot, d.key_env_edit, "STILL_TYPING")  # the event loop is not blocked
        assert d.key_env_edit.text() == "STILL_TYPING"
        d.reject()
        wait_idle(qtbot, d)
        assert not d.isVisible()
        assert d.provider_status.text() == "Testing slow…"  # nothing is written after closing
