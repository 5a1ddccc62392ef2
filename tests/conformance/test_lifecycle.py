"""Contract: opening, closing, health, the error hierarchy and the memory fallback."""

from __future__ import annotations

import logging

import pytest

import intentgraph as ig
from intentgraph import errors

from ._support import make, put

E = ig.EdgeType
S = ig.IntentStatus
SECRET = "s3cr3t-pw"


# --- closing ----------------------------------------------------------------------------------


def test_a_store_used_as_a_context_manager_is_closed_on_exit(store_url):
    with ig.open_store(store_url) as opened:
        put(opened, "a")
    with pytest.raises(errors.StoreClosed):
        opened.get("a")


def test_a_store_is_closed_even_when_the_with_block_raises(store_url):
    with pytest.raises(KeyError), ig.open_store(store_url) as opened:
        raise KeyError("boom")
    with pytest.raises(errors.StoreClosed):
        opened.count()


def test_close_is_idempotent(store):
    store.close()
    store.close()
    with pytest.raises(errors.StoreClosed):
        store.list()


def test_entering_a_closed_store_raises_store_closed(store):
    store.close()
    with pytest.raises(errors.StoreClosed), store:
        pass


CALLS = {
    "get": lambda s: s.get("a"),
    "find": lambda s: s.find("a"),
    "exists": lambda s: s.exists("a"),
    "get_many": lambda s: s.get_many(["a"]),
    "put": lambda s: s.put(make("new")),
    "put_many": lambda s: s.put_many([make("new")]),
    "update": lambda s: s.update(make("a", goal="x")),
    "set_status": lambda s: s.set_status("a", S.SUSPENDED),
    "claim": lambda s: s.claim("a"),
    "delete": lambda s: s.delete("a"),
    "list": lambda s: s.list(),
    "count": lambda s: s.count(),
    "add_edge": lambda s: s.add_edge("a", "b", E.RELATED_TO),
    "add_edges": lambda s: s.add_edges([ig.Edge(source="a", target="b", type=E.ENABLES)]),
    "remove_edge": lambda s: s.remove_edge("a", "b", E.DEPENDS_ON),
    "edges": lambda s: s.edges(),
    "edges_of": lambda s: s.edges("a"),
    "parent": lambda s: s.parent("a"),
    "children": lambda s: s.children("b"),
    "subtree": lambda s: s.subtree("b"),
    "ancestors": lambda s: s.ancestors("a"),
    "dependencies": lambda s: s.dependencies("a"),
    "dependents": lambda s: s.dependents("b", transitive=True),
    "ready": lambda s: s.ready(),
    "blocked": lambda s: s.blocked(),
    "cycles": lambda s: s.cycles(),
    "conflicts": lambda s: s.conflicts("a"),
    "plan": lambda s: s.plan("b"),
    "context": lambda s: s.context("a"),
    "stats": lambda s: s.stats(),
    "transaction": lambda s: s.transaction().__enter__(),
}


@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
def test_using_a_closed_store_raises_store_closed(store, call):
    put(store, "a")
    put(store, "b")
    store.add_edge("a", "b", E.DEPENDS_ON)
    store.close()
    with pytest.raises(errors.StoreClosed):
        call(store)


# --- identity and health ----------------------------------------------------------------------


def test_the_store_satisfies_the_protocol(store):
    assert isinstance(store, ig.IntentStorage)


def test_health_reports_an_ok_store(store, backend):
    put(store, "a")
    put(store, "b")
    health = store.health()
    assert isinstance(health, ig.Health)
    assert health.ok is True
    assert health.backend == backend
    assert health.url == store.url
    assert health.degraded is False
    assert health.reason is None
    assert health.intents == 2


def test_backend_names_the_backend(store, backend):
    assert store.backend == backend


def test_a_primary_store_is_not_degraded(store):
    assert store.degraded is False


def test_url_and_health_never_contain_a_password(store):
    assert SECRET not in store.url
    assert SECRET not in store.health().model_dump_json()


def test_a_password_given_to_a_store_that_takes_none_is_refused_without_being_shown(tmp_path):
    # memory:// names no place and file URLs name a file: a password would be ignored, so
    # it is refused rather than silently dropped, and the refusal never repeats it.
    for url in (f"memory://user:{SECRET}@localhost", f"json://user:{SECRET}@/{tmp_path}/s.json"):
        with pytest.raises(errors.InvalidURL) as info:
            ig.open_store(url)
        assert SECRET not in str(info.value)
        assert "user:***@" in str(info.value)


# --- the model and the errors -----------------------------------------------------------------


def test_the_intent_json_schema_lists_every_field():
    schema = ig.Intent.model_json_schema()
    assert set(schema["properties"]) == {
        "id", "name", "goal", "original_request", "status", "priority", "constraints",
        "preferences", "success_criteria", "metadata", "session_id", "lease", "attempts",
        "reason", "created_at", "updated_at", "version",
    }  # fmt: skip
    assert schema["required"] == ["name"]
    assert schema["title"] == "Intent"


def test_every_error_class_is_an_intentgraph_error():
    classes = [getattr(errors, name) for name in errors.__all__]
    assert len(classes) == 29
    for cls in classes:
        assert issubclass(cls, errors.IntentGraphError), cls.__name__
        assert issubclass(cls, Exception)


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("IntentNotFound", LookupError),
        ("EdgeNotFound", LookupError),
        ("MissingEndpoint", LookupError),
        ("MissingEndpoint", ValueError),
        ("BackupError", ValueError),
        ("TargetIsStore", ValueError),
        ("InvalidIntent", ValueError),
        ("InvalidFilter", ValueError),
        ("InvalidTransition", ValueError),
        ("InvalidURL", ValueError),
        ("IntentExists", ValueError),
        ("IntentInUse", ValueError),
        ("SelfLoop", ValueError),
        ("MultipleParents", ValueError),
        ("CycleError", ValueError),
        ("StorageError", OSError),
        ("StoreUnavailable", ConnectionError),
        ("BackendNotInstalled", ImportError),
        ("ReadOnlyStore", PermissionError),
        ("TransactionError", RuntimeError),
        ("LeaseLost", RuntimeError),
        ("IntentNotReady", RuntimeError),
        ("StoreForked", OSError),
    ],
)
def test_each_error_also_is_the_builtin_a_caller_would_catch(name, builtin):
    assert issubclass(getattr(errors, name), builtin)


# --- opening by URL ---------------------------------------------------------------------------


def test_open_store_with_an_unknown_scheme_raises_invalid_url():
    with pytest.raises(errors.InvalidURL):
        ig.open_store("nosuchdb://localhost/x")


def test_open_store_with_no_scheme_raises_invalid_url():
    with pytest.raises(errors.InvalidURL):
        ig.open_store("just-a-path.db")


def test_an_invalid_url_error_never_shows_the_password():
    with pytest.raises(errors.InvalidURL) as info:
        ig.open_store(f"nosuchdb://user:{SECRET}@localhost/x")
    assert SECRET not in str(info.value)
    with pytest.raises(errors.InvalidURL) as info:
        ig.open_store(f"sqlite://user:{SECRET}@host:notaport/x.db")
    assert SECRET not in str(info.value)


@pytest.fixture
def unreachable_sqlite_url(tmp_path):
    """A SQLite URL whose parent directory is a regular file, so it cannot be opened."""
    pytest.importorskip("intentgraph.backends.sqlite")
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory")
    return "sqlite:///" + str(blocker / "x.db")


def test_an_unreachable_store_raises_store_unavailable_without_fallback(unreachable_sqlite_url):
    with pytest.raises(errors.StoreUnavailable):
        ig.open_store(unreachable_sqlite_url, fallback=False)


def test_an_unreachable_store_falls_back_to_a_degraded_memory_store(unreachable_sqlite_url, caplog):
    caplog.set_level(logging.WARNING, logger="intentgraph")
    with ig.open_store(unreachable_sqlite_url, fallback=True) as fallback:
        assert fallback.backend == "memory"
        assert fallback.degraded is True
        health = fallback.health()
        assert health.ok is True
        assert health.degraded is True
        assert health.reason
        put(fallback, "a")
        assert fallback.exists("a") is True
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings, "the fallback must log a WARNING"


def test_a_password_never_shows_in_fallback_errors_logs_or_health(tmp_path, caplog):
    pytest.importorskip("intentgraph.backends.sqlite")
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory")
    url = f"sqlite://user:{SECRET}@/" + str(blocker / "x.db")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(errors.IntentGraphError) as info:
        ig.open_store(url, fallback=False)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    try:
        opened = ig.open_store(url, fallback=True)
    except errors.IntentGraphError as exc:  # a backend may refuse credentials outright
        assert SECRET not in str(exc)
    else:
        with opened:
            assert SECRET not in opened.url
            assert SECRET not in opened.health().model_dump_json()
            assert SECRET not in repr(opened)
    assert SECRET not in caplog.text


def test_compact_keeps_every_intent_and_edge(store, store_url, backend):
    for n in range(30):
        store.put(ig.Intent(id=f"c{n:02d}", name="x", goal="y" * 200))
    store.add_edge("c01", "c00", ig.EdgeType.DEPENDS_ON)
    for n in range(2, 30):
        store.delete(f"c{n:02d}")
    store.compact()
    assert [i.id for i in store.list()] == ["c00", "c01"]
    assert [(e.source, e.target) for e in store.edges()] == [("c01", "c00")]
