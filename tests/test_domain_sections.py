"""split/join: exact round trip, and located errors for markers kbgen cannot trust."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbgen.domain.sections import (
    GENERATED_KEYS,
    GeneratedBlock,
    HumanBlock,
    begin_marker,
    end_marker,
    is_managed,
    join,
    lines_of,
    split,
)
from kbgen.errors import DomainDocError

DOC = (
    "# T\n"
    "\n"
    "<!-- kbgen:begin header -->\n"
    "> header\n"
    "<!-- kbgen:end header -->\n"
    "\n"
    "## 2. File Registry\n"
    "<!-- kbgen:begin files -->\n"
    "<!-- kbgen:end files -->\n"
    "tail"
)


def test_split_finds_blocks_with_lines() -> None:
    blocks = split(DOC)
    assert [type(b) for b in blocks] == [HumanBlock, GeneratedBlock, HumanBlock, GeneratedBlock, HumanBlock]
    header, files = blocks[1], blocks[3]
    assert isinstance(header, GeneratedBlock) and isinstance(files, GeneratedBlock)
    assert (header.key, header.line, header.body) == ("header", 3, "> header\n")
    assert (files.key, files.line, files.body) == ("files", 8, "")
    assert blocks[2] == HumanBlock("\n## 2. File Registry\n", 6)
    assert blocks[4] == HumanBlock("tail", 10)
    assert join(blocks) == DOC


def test_document_without_markers_is_one_human_block() -> None:
    assert split("just text\n") == [HumanBlock("just text\n", 1)]
    assert split("") == [HumanBlock("", 1)]
    assert not is_managed("# Title\n\n## 1. Current State Summary\n")
    assert is_managed(DOC)


def test_marker_variants_are_kept_byte_for_byte() -> None:
    text = "   <!--kbgen:begin gaps   -->  \r\nx\r\n<!-- kbgen:end gaps -->"
    blocks = split(text)
    gaps = blocks[1]
    assert isinstance(gaps, GeneratedBlock)
    assert gaps.begin == "   <!--kbgen:begin gaps   -->  \r\n" and gaps.end == "<!-- kbgen:end gaps -->"
    assert join(blocks) == text


def test_marker_inside_code_fence_is_still_a_marker() -> None:
    # Human text cannot hide a marker: a fence around it changes nothing.
    text = "```\n<!-- kbgen:begin files -->\n```\n"
    with pytest.raises(DomainDocError) as err:
        split(text)
    assert err.value.line == 2


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a\n<!-- kbgen:begin files -->\nb\n", 2, "no end marker"),
        ("<!-- kbgen:end files -->\n", 1, "without its begin"),
        ("<!-- kbgen:begin files -->\n<!-- kbgen:begin gaps -->\n", 2, "begins inside block 'files'"),
        ("<!-- kbgen:begin files -->\n<!-- kbgen:end gaps -->\n", 2, "while block 'files' is open"),
        ("<!-- kbgen:begin files -->\n<!-- kbgen:end files -->\n\n"
         "<!-- kbgen:begin files -->\n<!-- kbgen:end files -->\n", 4, "appears twice (first at line 1)"),
        ("x\n\n<!-- kbgen:begin summary -->\n<!-- kbgen:end summary -->\n", 3,
         "unknown kbgen block 'summary'"),
        ("<!-- kbgen:begin -->\n", 1, "malformed"),
        ("<!-- kbgen:begin files --> trailing\n", 1, "malformed"),
        ("<!-- kbgen:start files -->\n", 1, "malformed"),
    ],
)
def test_malformed_markers_raise_with_line(text: str, line: int, words: str) -> None:
    with pytest.raises(DomainDocError) as err:
        split(text, path="d/analysis.md")
    assert err.value.line == line
    assert words in err.value.message
    assert str(err.value).startswith(f"d/analysis.md:{line}: ")


def test_lines_of_splits_on_newline_only() -> None:
    text = "a\rb\x0cc\u2028d\r\ne\n\nf"
    assert lines_of(text) == ["a\rb\x0cc\u2028d\r\n", "e\n", "\n", "f"]
    assert "".join(lines_of(text)) == text


# -- properties --------------------------------------------------------------

_MARKERY_LINES = st.sampled_from(
    [begin_marker(k) for k in GENERATED_KEYS] + [end_marker(k) for k in GENERATED_KEYS]
    + ["<!-- kbgen:begin nope -->", "<!-- kbgen: -->", "<!-- not kbgen -->", "## 2. File Registry", "|a|b|"]
)
_LINES = st.lists(st.one_of(st.text(max_size=12), _MARKERY_LINES), max_size=14)
_ENDINGS = st.sampled_from(["\n", "\r\n", ""])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.text(max_size=12), _MARKERY_LINES), _ENDINGS), max_size=14))
def test_split_join_round_trips_any_text(parts: list[tuple[str, str]]) -> None:
    text = "".join(line + ending for line, ending in parts)
    try:
        blocks = split(text)
    except DomainDocError as err:
        assert err.line is not None and 1 <= err.line <= max(1, len(lines_of(text)))
        return
    assert join(blocks) == text


_HUMAN = st.text(max_size=40).filter(lambda t: "kbgen:" not in t)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_well_formed_documents_split_into_their_parts(data: st.DataObject) -> None:
    keys = data.draw(st.lists(st.sampled_from(GENERATED_KEYS), unique=True, max_size=len(GENERATED_KEYS)))
    humans = [data.draw(_HUMAN) for _ in range(len(keys) + 1)]
    bodies = [data.draw(_HUMAN) for _ in keys]
    text = humans[0]
    for key, body, human in zip(keys, bodies, humans[1:], strict=True):
        if text and not text.endswith("\n"):
            text += "\n"
        if body and not body.endswith("\n"):
            body += "\n"
        text += f"{begin_marker(key)}\n{body}{end_marker(key)}\n{human}"
    blocks = split(text)
    assert join(blocks) == text
    generated = [b for b in blocks if isinstance(b, GeneratedBlock)]
    assert [b.key for b in generated] == keys
    assert len(blocks) == 2 * len(keys) + 1
