"""Safe parsing: hostile text is refused with a DocumentError before it can hurt."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.engine import DocumentError, Limits, load, parse
from playground.engine.limits import DEFAULT_LIMITS, MiB
from tests.engine.conftest import EXAMPLE


def refusal(text: str | bytes, fmt: str | None = None, limits: Limits = DEFAULT_LIMITS) -> str:
    """The printed problems of a refused parse; fails the test if the text parses."""
    with pytest.raises(DocumentError) as raised:
        parse(text, fmt, limits=limits)
    assert raised.value.problems
    return str(raised.value)


# size


@pytest.mark.parametrize("as_bytes", [False, True])
def test_a_document_over_one_mebibyte_is_refused(as_bytes):
    text = '{"nodes": []}' + " " * (MiB - 12)
    assert len(text) == MiB + 1
    assert "1,048,577 bytes; the limit is 1,048,576" in refusal(text.encode() if as_bytes
                                                                 else text)


def test_a_document_of_exactly_one_mebibyte_parses():
    text = '{"nodes": []}' + " " * (MiB - 13)
    assert parse(text) == {"nodes": []}


def test_the_size_is_counted_in_utf8_bytes():
    text = '"' + "é" * (MiB // 2) + '"'  # fewer characters than the cap, more bytes
    assert "limit is" in refusal(text)


def test_the_size_cap_is_configurable():
    assert "limit is 10" in refusal('{"nodes": [1, 2, 3]}', limits=Limits(max_bytes=10))


# nesting


@pytest.mark.parametrize("text", [
    "[" * 10_000 + "]" * 10_000,
    '{"a":' * 10_000 + "1" + "}" * 10_000,
    "[" * 10_000,
], ids=["json-lists", "json-objects", "json-unclosed"])
def test_ten_thousand_levels_of_json_are_refused_without_recursion(text):
    assert "nested deeper than 32 levels" in refusal(text, "json")


@pytest.mark.parametrize("text", [
    "[" * 10_000 + "]" * 10_000,
    "{a: " * 10_000 + "1" + "}" * 10_000,
    "- " * 10_000 + "x",
    "".join(" " * i + "a:\n" for i in range(600)) + " " * 600 + "b",
], ids=["yaml-flow-lists", "yaml-flow-maps", "yaml-compact-lists", "yaml-indentation"])
def test_ten_thousand_levels_of_yaml_are_refused_without_recursion(text):
    assert "nested deeper than 32 levels" in refusal(text, "yaml")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_32_levels_parse_and_33_do_not(fmt):
    def nested(depth: int) -> str:
        return "[" * depth + "]" * depth
    parse(nested(32), fmt)
    assert "nested deeper than 32" in refusal(nested(33), fmt)


@pytest.mark.parametrize("text", ['["\\' * 300_000, '"' * 1_000_000, "[" * 1_000_000,
                                  '["' + "\\" * 500_000],
                         ids=["unterminated-escapes", "quotes", "brackets", "backslashes"])
def test_the_nesting_scan_is_linear_on_pathological_json(text):
    started = time.perf_counter()
    refusal(text, "json")
    assert time.perf_counter() - started < 2


def test_an_escaped_quote_does_not_end_a_string_for_the_nesting_scan():
    inner = "[" * 40
    assert parse(json.dumps([f'\\" {inner}']))[0].endswith(inner)
    assert "nested deeper" in refusal("[" * 31 + '"\\\\"' + "[" * 5, "json")


def test_brackets_inside_json_strings_do_not_count_as_nesting():
    text = json.dumps({"title": "[{" * 100 + '\\"' + "}]" * 100})
    assert parse(text)["title"].startswith("[{[{")


def test_the_depth_cap_is_configurable():
    assert "deeper than 2" in refusal('{"a": {"b": {}}}', limits=Limits(max_depth=2))


# numbers


@pytest.mark.parametrize("text", ['{"rps": NaN}', '{"rps": Infinity}', '{"rps": -Infinity}'])
@pytest.mark.parametrize("fmt", ["json", None])
def test_json_nan_and_infinities_are_refused(text, fmt):
    assert "is not a number JSON allows" in refusal(text, fmt)


@pytest.mark.parametrize("text", ['{"rps": 1e400}', '{"rps": -1e400}', '[1.5e99999]'])
def test_json_numbers_that_overflow_to_infinity_are_refused(text):
    assert "out of range" in refusal(text)


def test_json_integers_of_more_than_18_digits_are_refused():
    assert parse('{"n": 999999999999999999}') == {"n": 10**18 - 1}
    assert parse('{"n": -999999999999999999}') == {"n": -(10**18 - 1)}
    assert "more than 18 digits" in refusal('{"n": 1000000000000000000}')
    assert "more than 18 digits" in refusal('{"n": ' + str(10**30) + "}")
    assert "more than 18 digits" in refusal("[" + "9" * 5000 + "]")


@pytest.mark.parametrize("text", ["rps: .nan", "rps: .inf", "rps: -.Inf", "rps: 1.0e+400"])
def test_yaml_nan_and_infinities_are_refused(text):
    assert "not finite" in refusal(text)


@pytest.mark.parametrize("text", ["n: 1000000000000000000", "n: 0x" + "f" * 30,
                                  "n: 1_000_000_000_000_000_000_000"])
def test_yaml_integers_of_more_than_18_digits_are_refused(text):
    assert "more than 18 digits" in refusal(text)


# YAML's extras


def test_a_yaml_alias_bomb_is_refused_at_once():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    started = time.perf_counter()
    assert "anchors (&a0) are not allowed" in refusal("\n".join(lines))
    assert time.perf_counter() - started < 1


def test_a_yaml_alias_is_refused_even_without_a_bomb():
    assert "not allowed" in refusal("a: &x 1\nb: *x")
    assert "aliases (*x) are not allowed" in refusal("b: *x")


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system ['echo hacked']",
    "a: !!python/name:os.system",
    "!!python/object:collections.OrderedDict {}",
    "a: !custom 1",
    "a: !!set {x, y}",
    "a: !!omap [{x: 1}]",
    "a: !!binary aGVsbG8=",
    "a: !!timestamp 2024-01-01",
])
def test_yaml_tags_beyond_json_types_are_refused(text):
    assert "not allowed" in refusal(text)


@pytest.mark.parametrize("text", ["released: 2024-01-01", "at: 2001-12-14t21:59:43.10-05:00",
                                  "at: 2001-12-14 21:59:43.10 -5"])
def test_yaml_dates_are_refused(text):
    assert "a date or time is not allowed" in refusal(text)


def test_quoted_yaml_dates_are_strings():
    assert parse("released: '2024-01-01'") == {"released": "2024-01-01"}


def test_a_yaml_merge_key_is_refused():
    assert "merge key" in refusal("a:\n  <<: {b: 1}\n")


@pytest.mark.parametrize("text", ["1: a", "true: a", "null: a", "1.5: a", "? [a, b]\n: c",
                                  "? {a: 1}\n: c"])
def test_yaml_keys_must_be_strings(text):
    assert "keys must be strings" in refusal(text)


def test_explicit_json_tags_are_allowed_in_yaml():
    assert parse('a: !!str 12\nb: !!int "7"\nc: !!float 1\nd: !!map {e: !!seq [1]}') == \
        {"a": "12", "b": 7, "c": 1.0, "d": {"e": [1]}}


def test_yaml_reads_json_types():
    text = "a: 1\nb: 2.5\nc: true\nd: null\ne: text\nf: [1, two]\ng: {h: -3}\ni: ~\nj: ''\n"
    assert parse(text) == {"a": 1, "b": 2.5, "c": True, "d": None, "e": "text",
                           "f": [1, "two"], "g": {"h": -3}, "i": None, "j": ""}


def test_more_than_one_yaml_document_is_refused():
    assert "more than one YAML document" in refusal("---\na: 1\n---\nb: 2\n")


# other refusals


@pytest.mark.parametrize(("text", "path"), [('{"a": 1, "a": 2}', "a"),
                                            ('{"n": [{"x": 1, "x": 1}]}', "n[0].x"),
                                            ("a: 1\na: 2", "a"),
                                            ("n:\n- x: 1\n  x: 2", "n[0].x")])
def test_duplicate_keys_are_refused_with_their_path(text, path):
    assert refusal(text).startswith(f"{path}: duplicate key")


def test_invalid_utf8_is_refused():
    assert "not UTF-8" in refusal(b'{"title": "\xff"}')


def test_a_byte_order_mark_is_accepted():
    assert parse(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert parse('\ufeff{"a": 1}', "json") == {"a": 1}


def test_an_unpaired_surrogate_is_refused():
    assert refusal('{"title": "\\ud800"}').startswith("title: contains an unpaired surrogate")
    assert refusal('{"\\udc00": 1}').startswith("(document): a key contains an unpaired")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_text_with_a_raw_unpaired_surrogate_is_refused(fmt):
    assert "unpaired surrogate" in refusal('{"a": "\ud800"}', fmt)


@pytest.mark.parametrize("text", ["a: !!bool maybe", "a: !!int 12x", "a: !!float abc",
                                  "a: !!float 1e999"])
def test_a_bad_explicitly_tagged_yaml_scalar_is_refused(text):
    assert refusal(text).startswith("a: ")


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_an_empty_document_is_refused(text):
    assert "empty" in refusal(text, "yaml")


def test_a_json_syntax_error_names_line_and_column():
    assert "invalid JSON at line 2, column 7" in refusal('{"a": 1,\n "b": }', "json")


def test_a_yaml_syntax_error_names_line_and_column():
    assert "invalid YAML at line 2" in refusal("a: [1, 2\nb: 3", "yaml")


# sniffing


def test_json_and_yaml_are_told_apart():
    assert parse('{"a": [1]}') == {"a": [1]}
    assert parse("a: [1]") == {"a": [1]}
    assert parse("{a: [1]}") == {"a": [1]}  # flow-style YAML starts like JSON


def test_a_refused_json_value_is_not_rescued_by_yaml():
    assert "NaN" in refusal('{"a": NaN}')


def test_an_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError):
        parse("{}", "xml")


# the whole way


def test_load_reads_json_and_yaml_text():
    doc = load(json.dumps(EXAMPLE))
    assert load(json.dumps(EXAMPLE).encode()) == doc
    assert load(yaml.safe_dump(EXAMPLE)) == doc


def test_load_refuses_hostile_text_with_a_document_error():
    with pytest.raises(DocumentError):
        load("[" * 100_000)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**18) + 1, 10**18 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_round_trips_through_json_text(value):
    assert parse(json.dumps(value), "json") == value


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_round_trips_through_pyyaml_text(value):
    assert parse(yaml.safe_dump(value), "yaml") == value


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(st.characters(exclude_categories=())), st.binary()),
       st.sampled_from([None, "json", "yaml"]))
def test_parse_raises_nothing_but_document_error(text, fmt):
    try:
        parse(text, fmt)
    except DocumentError:
        pass


@pytest.mark.parametrize("text", ["- 1\n" * 262_000, "[" + "1," * 500_000 + "1]",
                                  "a: [" + "{b: 1.5}, " * 100_000 + "]"],
                         ids=["block-ints", "flow-ints", "flow-maps"])
def test_a_mebibyte_of_small_yaml_values_parses_in_well_under_the_time_of_a_request(text):
    started = time.perf_counter()
    parse(text, "yaml")
    assert time.perf_counter() - started < 3


def test_parsing_yaml_leaves_nothing_behind_in_the_shared_constructor():
    from playground.engine import loading

    parse("a: [1, 2.5, true, null, x]", "yaml")
    assert not loading._constructor.constructed_objects
