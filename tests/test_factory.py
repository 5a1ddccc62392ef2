"""Opening stores from URLs: schemes, paths, defaults, fallback, and secrets kept out."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph.factory import DEFAULT_URL, parse_url, redact_url


def test_memory_url_opens_an_empty_memory_store() -> None:
    with ig.open_store("memory://") as store:
        assert store.backend == "memory"
        assert store.count() == 0
        assert not store.degraded


def test_three_slashes_mean_a_relative_path_and_four_an_absolute_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_url("json:///rel/goals.json").file_path() == "rel/goals.json"
    assert parse_url("json:////abs/goals.json").file_path() == "/abs/goals.json"
    with ig.open_store("json:///goals.json") as store:
        store.put(ig.Intent(id="a", name="a"))
    assert (tmp_path / "goals.json").exists()


def test_the_default_store_comes_from_the_environment_then_the_default_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INTENTGRAPH_URL", "json:///from-env.json")
    with ig.open_store() as store:
        assert store.backend == "json"
    assert (tmp_path / "from-env.json").exists()
    assert DEFAULT_URL == "sqlite:///./intentgraph.db"


@pytest.mark.parametrize(
    "url",
    ["nosuch:///x", "not a url", "", "json://", "json:///", "json://somehost/x.json"],
)
def test_an_unknown_scheme_or_unusable_url_raises_invalid_url(url: str) -> None:
    with pytest.raises(ig.errors.InvalidURL):
        ig.open_store(url)


def test_unknown_url_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ig.errors.InvalidURL, match="colour"):
        ig.open_store(f"json:///{tmp_path}/s.json?colour=blue")
    with pytest.raises(ig.errors.InvalidURL, match="read_only"):
        ig.open_store(f"json:///{tmp_path}/s.json?read_only=perhaps")


def test_a_registered_backend_whose_extra_is_missing_names_the_extra() -> None:
    factory = ig.StorageFactory()
    factory.register("fancy", "intentgraph_fancy_driver_not_installed:Store", extra="fancy")
    with pytest.raises(ig.errors.BackendNotInstalled, match=r"intentgraph\[fancy\]") as info:
        factory.open("fancy://host/db")
    assert isinstance(info.value, ImportError)
    assert "fancy" in factory.schemes


def test_a_third_party_backend_plugs_in_by_dotted_path() -> None:
    factory = ig.StorageFactory({"mem2": ("intentgraph.backends.memory:MemoryStore", None)})
    with factory.open("mem2://") as store:
        assert store.backend == "memory"


def test_passwords_are_redacted() -> None:
    assert redact_url("bolt://neo:s3cret@db:7687/x?database=a") == (
        "bolt://neo:***@db:7687/x?database=a"
    )
    assert redact_url("memory://") == "memory://"
    assert "s3cret" not in parse_url("bolt://u:s3cret@h:1").redacted


def test_a_password_never_reaches_errors_logs_or_health(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    factory = ig.StorageFactory({"pw": ("intentgraph.backends.jsonfile:JsonFileStore", None)})
    url = f"json://user:s3cret@somehost/{tmp_path}/s.json"
    with pytest.raises(ig.errors.InvalidURL) as info:
        factory.open(url)
    assert "s3cret" not in str(info.value)
    missing = f"json://u:s3cret@/{tmp_path}/nodir/s.json"
    with caplog.at_level(logging.DEBUG, logger="intentgraph"):
        try:
            store = factory.open(missing, fallback=True)
            health = store.health().model_dump_json()
        except ig.errors.IntentGraphError as exc:
            health = str(exc)
    assert "s3cret" not in health
    assert "s3cret" not in caplog.text


def test_fallback_is_off_by_default_and_loud_when_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"json:///{tmp_path}/missing/s.json"
    with pytest.raises(ig.errors.StoreUnavailable):
        ig.open_store(url)
    with caplog.at_level(logging.WARNING, logger="intentgraph"):
        store = ig.open_store(url, fallback=True)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert store.degraded
    health = store.health()
    assert health.ok and health.degraded and health.backend == "memory"
    assert "unavailable" in (health.reason or "")
    assert str(tmp_path) in (health.reason or "")


def test_a_locked_store_never_falls_back(tmp_path: Path) -> None:
    url = f"json:///{tmp_path}/s.json"
    with ig.open_store(url), pytest.raises(ig.errors.StoreLocked):
        ig.open_store(url, fallback=True)
