"""docker/compose.yaml is a valid Compose file (checked against the Compose specification's
JSON schema) and runs what docs/docker.md says it runs."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests._npm import node_modules

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker" / "compose.yaml"
# The npm package dclint vendors the specification's schema (compose-spec/compose-spec,
# schema/compose-spec.json); its committed lockfile pins which version of it we check.
SCHEMA_PROJECT = Path(__file__).resolve().parent / "compose_schema"


@functools.cache
def compose_schema() -> dict[str, Any]:
    modules = node_modules(SCHEMA_PROJECT, marker="dclint")
    schema: dict[str, Any] = json.loads(
        (modules / "dclint" / "schemas" / "compose.schema.json").read_text()
    )
    return schema


def validator() -> jsonschema.Draft7Validator:
    # The schema says draft-07 as "https://json-schema.org/draft-07/schema", a spelling
    # jsonschema does not recognise (it would fall back to the latest draft), so say it here.
    schema = compose_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_the_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(compose)]
    assert errors == []


def test_the_schema_check_does_catch_a_broken_compose_file(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["neo4j"]["ports"] = "7687"  # must be a list
    broken["services"]["falkordb"]["imagee"] = "typo"  # no such key
    assert len(list(validator().iter_errors(broken))) == 2


def test_neo4j_5_community_answers_on_the_loopback_ports_with_its_password_from_an_env_file(
    compose: dict[str, Any],
) -> None:
    neo4j = compose["services"]["neo4j"]
    assert neo4j["image"] == "neo4j:5-community"
    assert neo4j["ports"] == ["127.0.0.1:7474:7474", "127.0.0.1:7687:7687"]
    assert neo4j["env_file"] == ["neo4j.env"]
    example = (ROOT / "docker" / "neo4j.env.example").read_text()
    assert "NEO4J_AUTH=neo4j/" in example
    assert "docker/neo4j.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_falkordb_and_its_browser_answer_on_the_loopback_ports(compose: dict[str, Any]) -> None:
    falkordb = compose["services"]["falkordb"]
    assert falkordb["image"] == "falkordb/falkordb"
    assert falkordb["ports"] == ["127.0.0.1:6379:6379", "127.0.0.1:3000:3000"]


def test_both_servers_have_a_healthcheck_and_keep_their_data_in_a_named_volume(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        assert service["healthcheck"]["test"], name
        [volume] = service["volumes"]
        assert volume.split(":")[0] in compose["volumes"], name


def test_the_docs_page_gives_the_commands_and_urls_of_this_compose_file() -> None:
    page = (ROOT / "docs" / "docker.md").read_text()
    for text in (
        "docker compose -f docker/compose.yaml up -d",
        "docker compose -f docker/compose.yaml down",
        "neo4j://neo4j:<password>@localhost:7687?database=neo4j",
        "falkordb://localhost:6379/goals",
        "INTENTGRAPH_NEO4J_URL=",
    ):
        assert text in page
