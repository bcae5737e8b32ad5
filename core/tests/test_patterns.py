"""Repository globs and tag regular expressions, the grammar protected tags and retention share,
matched in linear time by RE2 (issue 26)."""

from __future__ import annotations

import pytest

from core.patterns import PatternInvalid, glob_matches, regex_matches, validate_glob, validate_regex


@pytest.mark.parametrize(
    ("glob", "name", "matches"),
    [
        ("**", "app", True),
        ("**", "team/app/api", True),
        ("app", "app", True),
        ("app", "app2", False),
        ("app", "team/app", False),
        ("team/*", "team/web", True),
        ("team/*", "team/web/api", False),
        ("team/*", "team", False),
        ("team/*", "teams/web", False),
        ("team/**", "team/web", True),
        ("team/**", "team/web/api/v1", True),
        ("team/**", "team", False),
        ("team/**", "teamx/web", False),
        ("**/cache", "cache", True),
        ("**/cache", "team/build/cache", True),
        ("**/cache", "team/cache-old", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/x/c", False),
        ("web-*", "web-api", True),
        ("web-*", "web", False),
        ("web-*", "web-api/v1", False),
        ("*/api", "team/api", True),
        ("*/api", "team/x/api", False),
        ("team.io/a_b", "team.io/a_b", True),
        ("team.io/a_b", "teamxio/a_b", False),  # the dot is literal, not a regex dot
    ],
)
def test_a_glob_matches_whole_names_with_one_level_stars_and_any_depth_double_stars(
    glob: str, name: str, matches: bool
) -> None:
    assert validate_glob(glob) == glob
    assert glob_matches(glob, name) is matches


def test_it_strips_spaces_around_a_glob() -> None:
    assert validate_glob("  team/*  ") == "team/*"


@pytest.mark.parametrize(
    ("glob", "message"),
    [
        ("", "Give a repository pattern"),
        ("   ", "Give a repository pattern"),
        ("Team/*", "'T' cannot appear"),
        ("team/[ab]", "'[', ']' cannot appear"),
        ("team//app", "empty component"),
        ("/team", "empty component"),
        ("team/", "empty component"),
        ("team/**x", '"**" stands alone'),
        ("**/**", "means the same as"),
        ("a" * 256, "at most 255"),
    ],
)
def test_it_refuses_a_bad_glob_saying_what_to_change(glob: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        validate_glob(glob)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("latest", "latest", True),
        ("latest", "latest-rc", True),  # re.search: anywhere in the tag
        ("^latest$", "latest-rc", False),
        (r"^(latest|v?\d+\.\d+\.\d+)$", "v1.2.3", True),
        (r"^(latest|v?\d+\.\d+\.\d+)$", "1.2.3", True),
        (r"^(latest|v?\d+\.\d+\.\d+)$", "1.2.3-rc1", False),
        (".*", "anything", True),
        ("^release-", "pre-release-1", False),
    ],
)
def test_a_tag_pattern_matches_as_re_search_unless_anchored(pattern: str, tag: str, matches: bool) -> None:
    assert validate_regex(pattern) == pattern
    assert regex_matches(pattern, tag) is matches


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "Give a regular expression"),
        ("  ", "Give a regular expression"),
        ("(latest", "is not a valid regular expression: missing ): (latest"),
        ("*latest", "no argument for repetition operator: *"),
        (r"^(a)\1$", "backreferences (\\1) are not supported"),
        ("(?P<v>a)(?P=v)", "named backreferences ((?P=name)) are not supported"),
        ("^latest(?!-rc)", "look-ahead and look-behind"),
        ("(?<=v)1", "look-ahead and look-behind"),
        ("(?>a+)b", "atomic groups"),
        ("a++", "possessive quantifiers"),
        ("latest\\Z", "\\Z is not supported: end the pattern with $ or \\z"),
        ("a{1001}", "a repetition count (nested ones multiplied) is at most 1000"),
        ("a\x00", "cannot hold a NUL character"),
        ("x" * 501, "at most 500"),
    ],
)
def test_it_refuses_a_bad_regular_expression_saying_where(pattern: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        validate_regex(pattern)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("pattern", "tag"),
    [
        ("(a+)+$", "a" * 38 + "-x"),
        (r"^(\d+\.?)+$", "1" * 40 + "-rc"),
        ("(a|aa)+$", "a" * 127 + "!"),
        ("(.*a){12}", "a" * 30),
    ],
)
def test_a_catastrophic_pattern_answers_at_once_against_a_long_tag(pattern: str, tag: str) -> None:
    # Python's re took 12 s for (a+)+$ against 26 characters, four times more per two: with
    # RE2 these answer as fast as any pattern (benchmarks/patterns.py measures it).
    assert validate_regex(pattern) == pattern
    assert regex_matches(pattern, tag) is (pattern == "(.*a){12}")


def test_a_glob_with_ten_stars_matches_a_long_name_at_once() -> None:
    glob = "sec/" + "a*" * 9 + "a*c"
    assert validate_glob(glob) == glob
    assert glob_matches(glob, "sec/" + "a" * 250) is False
    assert glob_matches(glob, "sec/" + "a" * 250 + "c") is True


def test_a_stored_pattern_re2_cannot_compile_is_an_error_naming_it() -> None:
    with pytest.raises(PatternInvalid, match="look-ahead"):
        regex_matches("^v(?!0)", "v1")
