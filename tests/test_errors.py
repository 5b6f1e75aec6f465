"""Error messages say what to fix and never echo more than a short prefix of a value."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from strategy_factory.errors import MOST_PROBLEMS, describe_problems, shorten


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeframe: str = "1D"
    thresholds: list[float] = []

    @field_validator("timeframe")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in {"1h", "1D"}:
            raise ValueError(f"timeframe {value!r} is unknown; use 1h or 1D")
        return value


def _problems(**fields: object) -> str:
    try:
        _Config.model_validate(fields)
    except ValidationError as exc:
        return describe_problems(exc.errors())
    raise AssertionError("the config was valid")


def test_a_long_value_is_cut_to_a_prefix_and_its_length() -> None:
    value = "x" * 50_000
    message = shorten(f"timeframe {value!r} is unknown; use 1h or 1D")
    assert message == f"timeframe '{'x' * 50}… (50000 characters)' is unknown; use 1h or 1D"


def test_long_runs_without_quotes_and_quoted_text_with_spaces_are_cut() -> None:
    token = "ab" * 5_000
    assert shorten(f"no key {token} here") == f"no key {token[:50]}… (10000 characters) here"
    words = "a b " * 5_000
    cut = shorten(f"symbol {words!r} is not a valid name")
    assert cut == f"symbol '{words[:50]}… (20000 characters)' is not a valid name"


def test_ordinary_messages_are_kept_as_written() -> None:
    for message in (
        "LightGBM has no hyperparameter 'verbose'; known: boosting_type, class_weight",
        "the run's config names 'SYN' twice; give each symbol once",
        "body.criteria.sqn_100: Value error, min 5 is above max 3: swap them",
        "",
    ):
        assert shorten(message) == message


def test_a_long_message_keeps_its_beginning_and_its_end() -> None:
    middle = " ".join(f"w{n}" for n in range(5_000))
    message = shorten(f"start of the problem {middle} end: what to fix", limit=500)
    assert len(message) <= 500
    assert message.startswith("start of the problem w0 w1")
    assert message.endswith("end: what to fix")
    assert "characters cut" in message


PIECES = ["x" * 100, "'", '"', " ", "ab", "y" * 5_000, "'" + "z " * 100 + "'"]


@given(
    st.text(max_size=3_000) | st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.integers(min_value=200, max_value=2_000),
)
def test_a_shortened_message_is_bounded_and_holds_no_long_run(text: str, limit: int) -> None:
    once = shorten(text, limit=limit)
    assert len(once) <= limit
    assert not re.search(r"\S{81,}", once)


def test_shortening_a_shortened_message_again_changes_nothing() -> None:
    for message in (
        f"timeframe {'x' * 10**6!r} is unknown; use 1h or 1D",
        f"no key {'ab' * 10**5} here and {'c d ' * 10**4!r} there " * 20,
    ):
        once = shorten(message)
        assert shorten(once) == once


def test_problems_name_the_field_and_cut_the_value() -> None:
    message = _problems(timeframe="y" * 100_000)
    assert (
        message
        == f"timeframe: timeframe '{'y' * 50}… (100000 characters)' is unknown; use 1h or 1D"
    )


def test_only_the_first_problems_are_listed() -> None:
    message = _problems(thresholds=["high"] * 10_000)
    assert message.count("Input should be a valid number") == MOST_PROBLEMS
    assert message.endswith(f"and {10_000 - MOST_PROBLEMS} more problems")
    assert len(message) < 2_000


def test_a_long_unknown_field_name_is_cut() -> None:
    message = _problems(**{"k" * 20_000: 1})
    assert message == f"{'k' * 50}… (20000 characters): Extra inputs are not permitted"
