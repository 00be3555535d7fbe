"""Levels as written in a cell: English codes and Chinese names, several per cell."""
import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.roster.levels import LEVEL_NAMES_ZH, LevelError, level_label, parse_levels
from notifier.roster.models import LEVEL_CODES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("national", ["national"]),
        ("County", ["county"]),
        ("PROVINCIAL, municipal", ["provincial", "municipal"]),
        ("全国", ["national"]),
        ("国家级", ["national"]),
        ("全国人大代表", ["national"]),
        ("全国人民代表大会代表", ["national"]),
        ("省", ["provincial"]),
        ("省级", ["provincial"]),
        ("省人大代表", ["provincial"]),
        ("省级人大代表", ["provincial"]),
        ("市级代表", ["municipal"]),
        ("市人大", ["municipal"]),
        ("县人大代表", ["county"]),
        ("区级", ["county"]),
        ("县级、全国", ["national", "county"]),  # rank order, not cell order
        ("县，市；省/全国", ["national", "provincial", "municipal", "county"]),
        ("县 | 县级\n县人大代表", ["county"]),  # duplicates collapse
        ("  省级 ;  ", ["provincial"]),
        (["county", "全国人大代表"], ["national", "county"]),
        (("市级、县级",), ["municipal", "county"]),
        ("", []),
        (None, []),
        ([], []),
        ("，、 ;", []),
    ],
)
def test_parse_levels(ctx, raw, expected):
    assert parse_levels(raw) == expected


@pytest.mark.parametrize(
    ("raw", "unknown"),
    [
        ("乡级", ["乡级"]),
        ("县级、镇级、foo", ["镇级", "foo"]),
        ("人大代表", ["人大代表"]),
        ("级", ["级"]),
        (["national", "nation"], ["nation"]),
        (5, ["5"]),
    ],
)
def test_unknown_levels_are_named(ctx, raw, unknown):
    with force_locale("en"), pytest.raises(LevelError) as caught:
        parse_levels(raw)
    assert caught.value.unknown == unknown
    assert all(token in str(caught.value) for token in unknown)
    assert "Unknown level" in str(caught.value)


def test_labels_in_both_languages_parse_back(ctx):
    for locale in ("en", "zh_Hans_CN"):
        with force_locale(locale):
            for code in LEVEL_CODES:
                assert parse_levels(level_label(code)) == [code]


SEPARATORS = st.sampled_from([",", "，", "、", ";", "；", "/", " ", "|", "\n", ", ", " 、 "])
SUFFIXES = st.sampled_from(["", "级", "人大代表", "级人大代表", "代表", "级代表", "人大"])
CHINESE = {"national": ["全国", "国家"], "provincial": ["省"], "municipal": ["市"], "county": ["县", "区"]}


@st.composite
def written_levels(draw):
    codes = draw(st.lists(st.sampled_from(LEVEL_CODES), min_size=0, max_size=6))
    words = []
    for code in codes:
        style = draw(st.sampled_from(["code", "upper", "chinese", "zh_name"]))
        if style == "code":
            words.append(code)
        elif style == "upper":
            words.append(code.upper())
        elif style == "zh_name":
            words.append(LEVEL_NAMES_ZH[code])
        else:
            words.append(draw(st.sampled_from(CHINESE[code])) + draw(SUFFIXES))
    text = ""
    for word in words:
        text += word + draw(SEPARATORS)
    return codes, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written_levels())
def test_written_levels_round_trip(app, case):
    codes, text = case
    with app.app_context():
        expected = [code for code in LEVEL_CODES if code in codes]
        assert parse_levels(text) == expected
        assert parse_levels(text.split("\n")) == expected
        # what the exporter writes parses back to the same codes
        assert parse_levels("、".join(LEVEL_NAMES_ZH[c] for c in expected)) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.none(), st.text(), st.lists(st.text()), st.integers(), st.floats(), st.binary(),
                 st.lists(st.one_of(st.none(), st.integers(), st.text())), st.dictionaries(st.text(), st.text())))
def test_parse_levels_raises_nothing_but_level_error(app, raw):
    with app.app_context():
        try:
            result = parse_levels(raw)
        except LevelError as exc:
            assert exc.unknown
            assert str(exc)
        else:
            assert all(code in LEVEL_CODES for code in result)
            assert result == sorted(set(result), key=LEVEL_CODES.index)
