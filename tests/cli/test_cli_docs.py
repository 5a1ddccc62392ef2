"""docs/cli.md documents every command and option, and its reference is the code's --help."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from intentgraph.cli import cli
from intentgraph.cli._reference import BEGIN, END, reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def written() -> str:
    """The hand-written part of docs/cli.md (the generated reference left out)."""
    text = DOC.read_text()
    return text[: text.index(BEGIN)] + text[text.index(END) :]


def test_the_reference_in_the_docs_is_the_help_of_the_code() -> None:
    text = DOC.read_text()
    found = text[text.index(BEGIN) : text.index(END) + len(END)] + "\n"
    assert found == reference(), "regenerate it: python -m intentgraph.cli._reference"


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_a_section_with_an_example(name: str) -> None:
    text = written()
    headings = [h for h in re.findall(r"^### (.+)$", text, re.MULTILINE)]
    assert any(name in [part.strip() for part in h.split(",")] for h in headings), name
    assert re.search(rf"^intentgraph {re.escape(name)}\b", text, re.MULTILINE) or re.search(
        rf"intentgraph {re.escape(name)}[ )]", text
    ), f"no example of intentgraph {name}"


def options() -> list[tuple[str, str]]:
    found = []
    for command in [cli, *cli.commands.values()]:
        for param in command.params:
            if isinstance(param, click.Option):
                for flag in [*param.opts, *param.secondary_opts]:
                    if flag.startswith("--") and flag != "--help":
                        found.append((command.name or "intentgraph", flag))
    return sorted(set(found))


@pytest.mark.parametrize(("command", "flag"), options())
def test_every_option_is_documented(command: str, flag: str) -> None:
    assert re.search(rf"`[^`]*{re.escape(flag)}\b", written()), f"{command} {flag}"


def test_every_command_has_help_with_an_example() -> None:
    for name, command in cli.commands.items():
        assert "Example:" in (command.help or ""), name
