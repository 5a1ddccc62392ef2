"""Store URLs: what they parse to, what they refuse, and that no message ever shows a secret."""

from __future__ import annotations

import ast
import dataclasses
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import intentgraph as ig
from intentgraph import _url, factory
from intentgraph._url import (
    ParsedURL,
    check_no_location,
    check_query,
    is_secret_option,
    parse_url,
    query_flag,
    redact_url,
)
from intentgraph.errors import InvalidURL

ROOT = Path(__file__).resolve().parents[1]
SECRET = "hunter2hunter2"


def message_of(url: object) -> str:
    """Return the message ``parse_url(url)`` raises with."""
    with pytest.raises(InvalidURL) as info:
        parse_url(url)  # type: ignore[arg-type]
    return str(info.value)


# --- where the code lives -------------------------------------------------------------------


def test_the_url_module_imports_neither_the_factory_nor_a_backend() -> None:
    tree = ast.parse((ROOT / "intentgraph" / "_url.py").read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not {
        m for m in imported if m.startswith(("intentgraph.factory", "intentgraph.backends"))
    }


def test_the_factory_still_offers_the_url_helpers_backends_import_from_it() -> None:
    for name in ("ParsedURL", "parse_url", "redact_url", "check_query", "query_flag"):
        assert getattr(factory, name) is getattr(_url, name)
        assert name in factory.__all__


# --- redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("bolt://neo:s3cret@db:7687/x?database=a", "bolt://neo:***@db:7687/x?database=a"),
        ("bolt://neo4j:pa/ss@host:7687", "bolt://neo4j:***@host:7687"),
        ("bolt://neo4j:pa?ss@host", "bolt://neo4j:***@host"),
        ("bolt://neo4j:pa#ss@host/db", "bolt://neo4j:***@host/db"),
        ("bolt://neo4j:p@ss@host", "bolt://neo4j:***@host"),
        ("bolt://neo4j:p:s/s?#@[::1]:7687", "bolt://neo4j:***@[::1]:7687"),
        ("bolt://neo4j:p%23ss@host", "bolt://neo4j:***@host"),
        ("bolt://:s3cret@host", "bolt://:***@host"),
        ("bolt://neo4j:s3cret", "bolt://neo4j:***"),
        ("bolt://host/db?database=x&password=s3cret", "bolt://host/db?database=x&password=***"),
        ("bolt://host/db?password=s3cret&database=x", "bolt://host/db?password=***"),
        ("bolt://host/db?API_Key=s3cret", "bolt://host/db?API_Key=***"),
        ("bolt://host/db?token=s3#cret", "bolt://host/db?token=***"),
        ("bolt://host/db?password=s3@cret", "bolt://***"),
        ("bolt//neo4j:s3cret@host", "***@host"),
        ("neo4j:s3cret@host", "neo4j:***@host"),
        ("memory://", "memory://"),
        ("json:///goals.json?read_only=1", "json:///goals.json?read_only=1"),
        ("sqlite:////var/lib/goals.db", "sqlite:////var/lib/goals.db"),
    ],
)
def test_redaction_shows_the_user_name_and_hides_the_password_even_in_a_broken_url(
    url: str, redacted: str
) -> None:
    assert redact_url(url) == redacted


def test_everything_after_a_secret_option_is_hidden_as_perhaps_part_of_its_value() -> None:
    # ?password=&00= may be the empty password and an option "00", or the password "&00="
    # with its "&" unescaped: nothing tells, so all of it is hidden.
    assert redact_url("json:///x.json?password=&00=") == "json:///x.json?password=***"
    assert redact_url("json:///x.json?read_only=1&token=ab&cd=ef#g") == (
        "json:///x.json?read_only=1&token=***"
    )


def test_redacting_something_that_is_not_a_string_shows_only_its_type() -> None:
    assert redact_url(b"bolt://u:s3cret@h") == "<bytes>"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    ["password", "PASSWORD", "db_pass", "pwd", "pw", "client_secret", "Token", "api_key",
     "auth", "Authorization", "credentials", "pass%77ord"],
)  # fmt: skip
def test_an_option_whose_name_looks_secret_has_its_value_hidden(name: str) -> None:
    assert is_secret_option(name)
    assert SECRET not in redact_url(f"bolt://host/db?{name}={SECRET}")
    assert SECRET not in parse_url(f"bolt://host/db?{name}={SECRET}").redacted


@pytest.mark.parametrize("name", ["database", "read_only", "busy_timeout", "graph"])
def test_an_ordinary_option_keeps_its_value(name: str) -> None:
    assert not is_secret_option(name)
    assert redact_url(f"bolt://host/db?{name}=x") == f"bolt://host/db?{name}=x"


def test_the_repr_and_str_of_a_parsed_url_never_show_the_password() -> None:
    parsed = parse_url(f"bolt://neo4j:{SECRET}@host:7687/db?api_token=t0ken-{SECRET}")
    assert parsed.password == SECRET
    assert parsed.query["api_token"] == f"t0ken-{SECRET}"
    for text in (repr(parsed), str(parsed), parsed.redacted, f"{parsed}", f"{parsed!r}"):
        assert SECRET not in text
        assert "neo4j:***@host:7687" in text
    hidden = {f.name for f in dataclasses.fields(ParsedURL) if not f.repr}
    assert {"raw", "password"} <= hidden


# --- what a URL parses to -------------------------------------------------------------------


def test_the_user_name_and_password_are_percent_decoded() -> None:
    parsed = parse_url("bolt://ne%40o:p%23s%2Fs%3F%40%3A%25+@host")
    assert parsed.username == "ne@o"
    assert parsed.password == "p#s/s?@:%+"  # a + in a password stays a +
    assert parse_url("bolt://neo4j:p%23ss@host").password == "p#ss"


def test_a_url_without_user_information_has_no_user_name_or_password() -> None:
    parsed = parse_url("bolt://host")
    assert parsed.username is None and parsed.password is None
    only_user = parse_url("bolt://neo4j@host")
    assert only_user.username == "neo4j" and only_user.password is None


def test_the_host_is_lower_cased_and_the_port_is_a_number() -> None:
    parsed = parse_url("Neo4j+S://DB.Example.com:7687")
    assert (parsed.scheme, parsed.host, parsed.port) == ("neo4j+s", "db.example.com", 7687)
    assert parsed.address == "db.example.com:7687"
    assert parse_url("bolt://host").port is None
    assert parse_url("json:///x.json").host is None
    assert parse_url("json:///x.json").address is None


def test_an_ipv6_host_is_written_in_brackets_and_returned_without_them() -> None:
    parsed = parse_url("bolt://neo4j:pw@[::1]:7687/db")
    assert (parsed.host, parsed.port, parsed.address) == ("::1", 7687, "[::1]:7687")
    assert parse_url("bolt://[2001:DB8::1]").address == "[2001:db8::1]"


def test_the_path_gives_a_database_or_graph_name() -> None:
    assert parse_url("falkordb://host:6379/goals").path_name() == "goals"
    assert parse_url("falkordb://host:6379/goals").path_segments == ("goals",)
    assert parse_url("falkordb://host:6379/my%20goals").path_name() == "my goals"
    assert parse_url("falkordb://host:6379/a%2Fb").path_name() == "a/b"
    assert parse_url("falkordb://host:6379").path_name() is None
    assert parse_url("falkordb://host:6379/").path_name() is None
    assert parse_url("falkordb://host:6379/a/b").path_segments == ("a", "b")


@pytest.mark.parametrize("url", ["falkordb://host/a/b", "falkordb://host/goals/", "bolt://h//x"])
def test_a_path_of_more_than_one_name_is_not_a_database_name(url: str) -> None:
    with pytest.raises(InvalidURL, match="single name"):
        parse_url(url).path_name()


def test_the_query_is_a_dict_of_decoded_single_values() -> None:
    parsed = parse_url("bolt://host/db?database=my%20db&flag&plus=a+b&amp=%26&empty=")
    assert parsed.query == {"database": "my db", "flag": "", "plus": "a b", "amp": "&", "empty": ""}


def test_the_scheme_is_case_insensitive() -> None:
    assert parse_url("SQLite:///x.db").scheme == "sqlite"
    with ig.open_store("MEMORY://") as store:
        assert store.backend == "memory"


# --- URLs that are refused ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (42, "must be a string"),
        (None, "must be a string"),
        (b"memory://", "must be a string"),
        ("", "expected scheme://"),
        ("not a url", "expected scheme://"),
        ("goals.db", "expected scheme://"),
        ("sqlite:/goals.db", "expected scheme://"),
        ("://host", "expected scheme://"),
        ("1db://host", "expected scheme://"),
        ("json:///x.json#frag", "#fragment"),
        ("memory://#", "#fragment"),
        ("bolt://host/db?database=x#top", "#fragment"),
        ("sqlite:///x.db?read_only=1&read_only=0", "more than once"),
        ("sqlite:///x.db?read_only=1&read_only=1", "more than once"),
        ("bolt://host?database=a&database=b", "more than once"),
        ("bolt://host?database=a&database=b&database=c", "more than once"),
        ("bolt://host?=x", "no name"),
        ("bolt://host:notaport", "port"),
        ("bolt://host:0", "port"),
        ("bolt://host:65536", "port"),
        ("bolt://host:", "port"),
        ("bolt://host:+1", "port"),
        ("bolt://host:\u0663", "port"),  # an Arabic-Indic digit three
        ("bolt://::1:7687", "brackets"),
        ("bolt://[::1", "IPv6"),
        ("bolt://[not-an-address]:7687", "IPv6"),
        ("bolt://[::1]7687", "IPv6"),
        ("bolt://my host:7687", "host"),
        ("bolt://ho\u2100st", "host"),  # a character that NFKC turns into "a/c"
        ("sqlite:///x.db\n", "control characters"),
        ("sqlite:///a\tb.db", "control characters"),
        ("sqlite:///a\x00b.db", "control characters"),
        (" memory://", "spaces"),
        ("memory:// ", "spaces"),
        ("bolt://user:pa/ss@host", "percent-encode"),
        ("bolt://user:pa?ss@host", "percent-encode"),
        ("bolt://user:pa#ss@host", "percent-encode"),
        ("json:///a@b.json", "%40"),
    ],
)
def test_a_url_a_store_cannot_use_raises_invalid_url_saying_why(url: object, says: str) -> None:
    assert says in message_of(url)


@pytest.mark.parametrize("char", ["/", "?", "#", "/?#"])
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_password_with_an_unescaped_character_is_refused_without_being_echoed(
    char: str, where: str
) -> None:
    password = {"start": char + SECRET, "middle": SECRET + char + SECRET, "end": SECRET + char}
    url = f"bolt://neo4j:{password[where]}@host:7687/db?database=x"
    message = message_of(url)
    assert SECRET not in message
    assert "percent-encode" in message and "%23" in message
    assert message.startswith("bolt://neo4j:***@host:7687/db?database=x:")


def test_a_parse_error_is_not_chained_to_an_exception_that_could_quote_the_url() -> None:
    for url in (f"bolt://neo4j:{SECRET}@host:bad", f"bolt://neo4j:{SECRET}@[zz]:1"):
        with pytest.raises(InvalidURL) as info:
            parse_url(url)
        assert info.value.__cause__ is None
        assert info.value.__context__ is None


# --- file paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///goals.db", "goals.db"),
        ("sqlite:///./goals.db", "./goals.db"),
        ("sqlite:///data/goals.db", "data/goals.db"),
        ("sqlite:////var/lib/goals.db", "/var/lib/goals.db"),
        ("json:///goals.json?read_only=1", "goals.json"),
        ("sqlite:///a%40b%23c.db", "a@b#c.db"),
        ("sqlite:///my%20goals.db", "my goals.db"),
        ("sqlite:///./:memory:", "./:memory:"),
    ],
)
def test_a_file_url_gives_a_relative_path_with_three_slashes_and_an_absolute_one_with_four(
    url: str, path: str
) -> None:
    assert parse_url(url).file_path() == path


def test_a_tilde_in_a_file_path_is_expanded() -> None:
    assert parse_url("sqlite:///~/goals.db").file_path() == os.path.expanduser("~/goals.db")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:///:memory:", "use memory://"),
        ("sqlite:///%3Amemory%3A", "use memory://"),
        ("sqlite:///:memory:?read_only=1", "use memory://"),
        ("sqlite:///somedir/", "directory"),
        ("json:///data/somedir/", "directory"),
        ("sqlite:///somedir%2F", "directory"),
        ("sqlite:///.", "directory"),
        ("sqlite:///data/..", "directory"),
        ("sqlite:///~", "directory"),
        ("sqlite:////", "directory"),
        ("sqlite:///", "no file path"),
        ("sqlite://", "no file path"),
        ("sqlite://?read_only=1", "no file path"),
        ("sqlite://host/goals.db", "no host"),
        ("sqlite://:8080/goals.db", "no host"),
        ("sqlite://user@/goals.db", "no host"),
        (f"sqlite://user:{SECRET}@/goals.db", "no host"),
        ("sqlite:///a%00b.db", "NUL"),
    ],
)
def test_a_file_url_that_names_no_usable_file_is_refused(url: str, says: str) -> None:
    with pytest.raises(InvalidURL, match=says) as info:
        parse_url(url).file_path()
    assert SECRET not in str(info.value)


def test_a_file_path_is_worked_out_without_looking_at_the_filesystem(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    # Whether the path is a directory or exists is the backend's business, when it opens.
    assert parse_url(f"sqlite:///{tmp_path}/adir").file_path() == f"{tmp_path}/adir"
    assert parse_url(f"sqlite:///{tmp_path}/no/such/x.db").file_path().endswith("no/such/x.db")


# --- memory:// ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["memory://", "memory:///"])
def test_a_memory_url_names_no_place(url: str) -> None:
    check_no_location(parse_url(url))
    with ig.open_store(url) as store:
        assert store.backend == "memory"


@pytest.mark.parametrize(
    "url",
    ["memory://somehost", "memory://somehost:1234", "memory://:1234", "memory://user@",
     f"memory://user:{SECRET}@", "memory:///goals", "memory://somehost/", "memory:///a/b"],
)  # fmt: skip
def test_a_memory_url_with_a_host_port_user_or_path_is_refused(url: str) -> None:
    with pytest.raises(InvalidURL, match="lives in this process") as info:
        ig.open_store(url)
    assert SECRET not in str(info.value)


def test_a_scheme_registered_for_the_memory_store_refuses_a_host_too() -> None:
    scratch = ig.StorageFactory({"scratch": ("intentgraph.backends.memory:MemoryStore", None)})
    with pytest.raises(InvalidURL, match="lives in this process"):
        scratch.open("scratch://somehost")


# --- options --------------------------------------------------------------------------------


def test_known_options_pass_the_check() -> None:
    check_query(
        parse_url("sqlite:///x.db?read_only=1&busy_timeout=5"), {"read_only", "busy_timeout"}
    )
    check_query(parse_url("memory://"), set())


def test_an_unknown_option_is_named_but_no_value_is_shown() -> None:
    parsed = parse_url(f"json:///x.json?colour=blue&read_only=1&password={SECRET}")
    with pytest.raises(InvalidURL) as info:
        check_query(parsed, {"read_only"})
    message = str(info.value)
    assert "password" in message and "colour" in message
    assert SECRET not in message and "blue" not in message
    assert "read_only=1" in message  # known options keep their values
    assert "it takes read_only" in message


def test_an_unknown_option_that_may_be_part_of_a_secret_is_counted_not_named() -> None:
    parsed = parse_url("json:///x.json?token=ab&cdefgh")
    with pytest.raises(InvalidURL) as info:
        check_query(parsed, set())
    message = str(info.value)
    assert "cdefgh" not in message and "ab&" not in message
    assert "token" in message and "1 more after a secret option" in message


def test_a_misspelt_secret_option_keeps_its_value_hidden() -> None:
    with pytest.raises(InvalidURL) as info:
        check_query(parse_url(f"json:///x.json?pasword={SECRET}"), {"password"})
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("true", True), ("Yes", True), ("on", True), ("", True),
     ("0", False), ("false", False), ("NO", False), ("off", False)],
)  # fmt: skip
def test_a_flag_option_takes_the_usual_spellings(raw: str, value: bool) -> None:
    assert query_flag(parse_url(f"json:///x.json?read_only={raw}"), "read_only") is value
    assert parse_url("json:///x.json?read_only").query == {"read_only": ""}


def test_a_missing_flag_option_takes_its_default() -> None:
    assert query_flag(parse_url("json:///x.json"), "read_only") is False
    assert query_flag(parse_url("json:///x.json"), "read_only", default=True) is True


def test_a_flag_option_that_is_not_a_boolean_is_refused_without_showing_a_secret() -> None:
    with pytest.raises(InvalidURL, match=r"read_only='perhaps' is not a boolean"):
        query_flag(parse_url("json:///x.json?read_only=perhaps"), "read_only")
    with pytest.raises(InvalidURL, match=r"use_auth=\*\*\* is not a boolean") as info:
        query_flag(parse_url(f"bolt://h?use_auth={SECRET}"), "use_auth")
    assert SECRET not in str(info.value)


# --- through open_store ---------------------------------------------------------------------


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somedir").mkdir()
    yield tmp_path


@pytest.mark.parametrize(
    "url",
    [
        "json:///x.json#frag",
        "sqlite:///x.db#frag",
        "memory://somehost",
        "memory://#frag",
        "sqlite:///:memory:",
        "sqlite:///somedir/",
        "json:///somedir/",
        "sqlite:///dir/",
        "sqlite:///x.db?read_only=1&read_only=0",
        "json:///x.json?read_only=0&read_only=1",
        "sqlite:///x.db?busy_timeout=10&busy_timeout=20",
        "sqlite:///x.db?password=s3cret",
        "sqlite://user:pw@/x.db",
    ],
)
def test_open_store_refuses_a_url_it_would_have_misread_and_creates_nothing(
    url: str, in_tmp: Path
) -> None:
    with pytest.raises(InvalidURL):
        ig.open_store(url)
    assert sorted(p.name for p in in_tmp.iterdir()) == ["somedir"]
    assert list((in_tmp / "somedir").iterdir()) == []


def test_a_percent_encoded_character_in_a_file_name_is_decoded(in_tmp: Path) -> None:
    with ig.open_store("json:///goals%40work%23%3F.json") as store:
        store.put(ig.Intent(id="a", name="a"))
    assert (in_tmp / "goals@work#?.json").exists()


def test_an_invalid_url_from_the_environment_never_shows_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INTENTGRAPH_URL", f"sqlite://user:{SECRET}#x@/goals.db")
    with pytest.raises(InvalidURL) as info:
        ig.open_store()
    assert SECRET not in str(info.value)


# --- properties -----------------------------------------------------------------------------

PRINTABLE = st.characters(exclude_categories=("Cs",)).filter(str.isprintable)
PASSWORDS = st.text(PRINTABLE | st.sampled_from("#/?@:%&=+ []*~;,"), min_size=4, max_size=24)
PROPS = settings(max_examples=150, deadline=None)

PROPERTY_DIR = Path(tempfile.gettempdir()) / "intentgraph-url-properties"
TEMPLATES = [
    "bolt://user:{}@host:7687/db?database=x",
    "bolt://host:7687/db?database=x&password={}",
    "bolt://user:x@host:7687/db?password={}&database=x",
    "neo4j+s://user:{}@[::1]:7687/db?database=x",
    "falkordb://host:6379/goals?password={}",
    "memory://user:{}@",
    "memory://?password={}",
    f"json:///{PROPERTY_DIR}/s.json?password={{}}",
    f"sqlite:///{PROPERTY_DIR}/s.db?password={{}}&read_only=1",
    f"json://user:{{}}@/{PROPERTY_DIR}/s.json",
    f"sqlite://user:{{}}@/{PROPERTY_DIR}/s.db",
]


def embeddings(password: str) -> list[str]:
    """Every template with the password raw and percent-encoded."""
    return [t.format(form) for t in TEMPLATES for form in (password, quote(password, safe=""))]


def exception_texts(exc: BaseException) -> list[str]:
    """Return str() and repr() of an exception and every exception it is chained to."""
    texts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return texts


def everything_shown_about(url: str) -> list[str]:
    """Every text intentgraph may show about ``url``: redactions, reprs, error messages."""
    shown = [redact_url(url)]
    try:
        parsed = parse_url(url)
    except InvalidURL as exc:
        shown += exception_texts(exc)
    else:
        shown += [parsed.redacted, repr(parsed), str(parsed)]
        for check in (
            lambda: check_query(parsed, {"database"}),
            lambda: query_flag(parsed, "password"),
            lambda: parsed.file_path(),
            lambda: parsed.path_name(),
            lambda: check_no_location(parsed),
        ):
            try:
                check()
            except InvalidURL as exc:
                shown += exception_texts(exc)
    try:
        store = ig.open_store(url)
    except InvalidURL as exc:
        shown += exception_texts(exc)
    else:  # every template has a password or an option no backend takes
        store.close()
        raise AssertionError(f"{redact_url(url)} opened")
    return shown


def _fixed_text() -> str:
    """Text any message may contain whatever the password: a password that is part of it
    cannot be told apart from the message itself, so the properties skip it."""
    sources = [ROOT / "intentgraph" / "_url.py", ROOT / "intentgraph" / "factory.py"]
    sources += sorted((ROOT / "backends").glob("*.py"))
    texts = [p.read_text() for p in sources] + [", ".join(ig.StorageFactory().schemes)]
    for dummy in ("x", "x#y", "x/y", "x?y", "x&y", "x&y=z", "x@y", "x:y", "x y", "x%y"):
        for url in embeddings(dummy):
            texts += everything_shown_about(url)
    return "\n".join(texts)


FIXED_TEXT = _fixed_text()


@PROPS
@given(password=PASSWORDS)
def test_no_password_ever_shows_in_a_redaction_repr_or_error(password: str) -> None:
    assume(password not in FIXED_TEXT)
    for url in embeddings(password):
        for text in everything_shown_about(url):
            assert password not in text, (url, text)


@PROPS
@given(password=st.text(PRINTABLE | st.sampled_from("#/?@:%&=+ "), max_size=24))
def test_a_percent_encoded_password_round_trips_exactly(password: str) -> None:
    encoded = quote(password, safe="")
    parsed = parse_url(f"bolt://user:{encoded}@host:7687/db?database=x")
    assert parsed.password == password
    assert parsed.username == "user"
    assert (parsed.host, parsed.port, parsed.path_name()) == ("host", 7687, "db")
    assert parse_url(f"bolt://{encoded}@host").username == password
    assert parse_url(f"bolt://host/db?password={encoded}").query["password"] == password
