"""Safe parsing of design documents from JSON or YAML text.

Hostile text is refused before it can hurt, and every refusal is a ``DocumentError``:

- size: more than ``Limits.max_bytes`` bytes (1 MiB) is refused unread;
- nesting: JSON is pre-scanned for bracket depth (strings skipped, no recursion) and refused past
  ``Limits.max_depth`` (32) levels, so the recursive ``json`` decoder never nears
  ``RecursionError``. YAML is read as a stream of parser events (PyYAML's parser is a state
  machine, not recursive) and built here with an explicit stack, refusing at the same depth;
- numbers: NaN and infinities (also 1e400, which overflows to one) and integers of more than
  ``MAX_INT_DIGITS`` digits are refused;
- YAML: no anchors or aliases (so no alias bombs), and JSON types only: null, booleans, numbers,
  strings, lists and objects with string keys. Dates, binary, sets, ordered maps, merge keys and
  every other tag (``!!python/...`` included) are refused;
- duplicate keys and strings that are not valid Unicode (unpaired surrogates) are refused.

Terms
-----
fmt
    ``"json"`` or ``"yaml"``. When not given it is sniffed: text whose first non-blank character
    is ``{`` or ``[`` is JSON (and if it is not JSON at all but YAML reads it, YAML: a flow-style
    YAML file); anything else is YAML. A refused value in JSON stays refused.
YAML scalars
    Resolved as PyYAML's safe loader does (YAML 1.1: ``yes``/``no`` are booleans), because that is
    how every PyYAML-written file is meant to be read.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml

from playground.engine.limits import DEFAULT_LIMITS, Limits
from playground.engine.problems import DocumentError, Problem, join

#: Integers up to 18 digits fit an int64 and a float's exact range is near; longer ones are noise
#: or attack.
MAX_INT_DIGITS = 18

_JSON_SPECIAL = re.compile(r'["\\\[\]{}]')
_YAML_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_YAML_TAG}{t}" for t in ("null", "bool", "int", "float", "str")}
_COLLECTION_TAGS = {f"{_YAML_TAG}map", f"{_YAML_TAG}seq"}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Refused(Exception):
    """A value the parser hooks refuse; carries the reason until a path is known."""


class _SyntaxProblem(DocumentError):
    """Text that is not JSON at all (as opposed to JSON with a refused value)."""


def parse(text: str | bytes, fmt: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The JSON data in ``text`` (JSON or YAML); raises ``DocumentError`` for anything unsafe or
    malformed."""
    if fmt not in (None, "json", "yaml"):
        raise ValueError(f"fmt must be 'json', 'yaml' or None, not {fmt!r}")
    text = _decode(text, limits.max_bytes)
    if fmt is None:
        head = text.lstrip()[:1]
        fmt = "json" if head in ("{", "[") else "yaml"
        if fmt == "json":
            try:
                return _parse_json(text, limits.max_depth)
            except _SyntaxProblem as json_error:
                try:
                    return _parse_yaml(text, limits.max_depth)
                except DocumentError:
                    raise json_error from None
    if fmt == "json":
        return _parse_json(text, limits.max_depth)
    return _parse_yaml(text, limits.max_depth)


def _fail(message: str, path: str = "") -> DocumentError:
    return DocumentError([Problem(path, message)])


def _decode(text: str | bytes, max_bytes: int) -> str:
    size = len(text)
    if isinstance(text, str) and size <= max_bytes:
        # A character is one to four bytes; only near the cap is the exact count worth taking.
        size = len(text.encode("utf-8", "surrogatepass")) if size * 4 > max_bytes else size
    if size > max_bytes:
        raise _fail(f"the document is {size:,} bytes; the limit is {max_bytes:,}")
    if isinstance(text, str):
        if not text.isascii() and not valid_unicode(text):
            raise _fail("contains an unpaired surrogate (\\ud800-\\udfff): not Unicode text")
        return text.removeprefix("\ufeff")
    try:
        return text.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _fail(f"not UTF-8 text (byte {e.start})") from None


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


# ---------------------------------------------------------------------------------------------
# JSON


def _check_json_depth(text: str, max_depth: int) -> None:
    # Only the characters that matter are visited, each once: a regex for whole strings would
    # rescan the rest of the text from every quote of an unterminated one (quadratic).
    depth = 0
    in_string = False
    escaped_until = -1  # the character after a backslash in a string is not itself special
    for m in _JSON_SPECIAL.finditer(text):
        at = m.start()
        if at < escaped_until:
            continue
        char = m.group()
        if in_string:
            if char == "\\":
                escaped_until = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                raise _fail(f"nested deeper than {max_depth} levels at {_position(text, at)}")
        elif char in "]}":
            depth -= 1


class _Dict(dict[str, Any]):
    """A decoded JSON object that had duplicate keys (reported with its path after decoding)."""

    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dups: list[str] = []
    for k, v in pairs:
        if k in out:
            dups.append(k)
        out[k] = v
    if dups:
        marked = _Dict(out)
        marked.duplicates = dups
        return marked
    return out


def _json_int(s: str) -> int:
    if len(s.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"the integer {s[:24]}... has more than {MAX_INT_DIGITS} digits")
    return int(s)


def _json_float(s: str) -> float:
    value = float(s)
    if not math.isfinite(value):
        raise _Refused(f"the number {s[:24]} is out of range")
    return value


def _json_constant(s: str) -> Any:
    raise _Refused(f"{s} is not a number JSON allows")


def _parse_json(text: str, max_depth: int) -> Any:
    _check_json_depth(text, max_depth)
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_int=_json_int,
                           parse_float=_json_float, parse_constant=_json_constant)
    except _Refused as e:
        raise _fail(str(e)) from None
    except json.JSONDecodeError as e:
        raise _SyntaxProblem([Problem("", f"invalid JSON at {_position(text, e.pos)}: {e.msg}")]
                             ) from None
    except RecursionError:  # the pre-scan makes this unreachable; kept as a last fence
        raise _fail("nested too deeply") from None
    problems = _scan(value)
    if problems:
        raise DocumentError(problems)
    return value


def _scan(value: Any) -> list[Problem]:
    """Duplicate keys and unpaired surrogates in decoded JSON, each with its path."""
    problems: list[Problem] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, str):
            if not valid_unicode(v):
                problems.append(Problem(path, "contains an unpaired surrogate (\\ud800-\\udfff)"))
        elif isinstance(v, list):
            stack.extend((join(path, i), x) for i, x in enumerate(v))
        elif isinstance(v, dict):
            for k in getattr(v, "duplicates", ()):
                problems.append(Problem(join(path, k), "duplicate key"))
            for k, x in v.items():
                if not valid_unicode(k):
                    problems.append(Problem(path, "a key contains an unpaired surrogate"))
                stack.append((join(path, k), x))
    return sorted(problems)


def valid_unicode(s: str) -> bool:
    """Whether ``s`` encodes as UTF-8 (no unpaired surrogates), so any database can store it."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# YAML


_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_STR, _INT, _FLOAT = (f"{_YAML_TAG}{t}" for t in ("str", "int", "float"))
#: Only these build a value; calling them directly (not ``construct_object``) keeps the shared
#: constructor from remembering every node it has seen.
_BUILD = {tag: _constructor.yaml_constructors[tag] for tag in _SCALAR_TAGS}
_INT_LIMIT = 10**MAX_INT_DIGITS


def _scalar(event: yaml.ScalarEvent, stack: list[list[Any]], is_key: bool) -> Any:
    value = event.value
    tag = event.tag
    if tag is None and not is_key and value.isdigit() and value.isascii() \
            and (value[0] != "0" or len(value) == 1) and event.implicit[0]:
        # The commonest scalar, a plain decimal integer, without the resolver's regexes.
        if len(value) > MAX_INT_DIGITS:
            raise _scalar_error(event, stack, f"an integer of more than {MAX_INT_DIGITS} digits")
        return int(value)
    if tag is None or tag == "!":
        if not event.implicit[0]:  # quoted, with no tag: a string whatever it looks like
            tag = _STR
        else:
            tag = _resolver.resolve(yaml.ScalarNode, value, event.implicit)
    if tag == _STR:
        if not value.isascii() and not valid_unicode(value):
            raise _scalar_error(event, stack, "contains an unpaired surrogate")
        return value
    if tag not in _SCALAR_TAGS:
        short = tag[len(_YAML_TAG):] if tag.startswith(_YAML_TAG) else tag
        what = {"timestamp": "a date or time", "binary": "binary data", "merge": "a merge key (<<)",
                "value": "a value key (=)"}.get(short, f"the tag {_short(tag)}")
        hint = "; quote it to make it a string" if short in ("timestamp", "value", "merge") else ""
        raise _scalar_error(event, stack, f"{what} is not allowed", f" (JSON types only){hint}")
    if is_key:
        raise _scalar_error(event, stack, "keys must be strings", "; quote the key")
    if tag == _INT and len(value) > 2 * MAX_INT_DIGITS:
        raise _scalar_error(event, stack, f"an integer of more than {MAX_INT_DIGITS} digits")
    try:
        out = _BUILD[tag](_constructor, yaml.ScalarNode(tag, value, event.start_mark))
    except Exception as e:  # PyYAML's constructors fail in many ways on bad input
        raise _scalar_error(event, stack, f"not a valid {tag[len(_YAML_TAG):]}: {_reason(e)}"
                            ) from None
    if tag == _INT and abs(out) >= _INT_LIMIT:
        raise _scalar_error(event, stack, f"an integer of more than {MAX_INT_DIGITS} digits")
    if tag == _FLOAT and not math.isfinite(out):
        raise _scalar_error(event, stack, f"the number {value[:24]} is not finite")
    return out


def _scalar_error(event: yaml.Event, stack: list[list[Any]], what: str, tail: str = ""
                  ) -> DocumentError:
    return _fail(f"{what} at {_mark(event)}{tail}", _where(stack)[0])


def _short(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG):] if tag.startswith(_YAML_TAG) else tag


def _mark(event: yaml.Event) -> str:
    m = event.start_mark
    return f"line {m.line + 1}, column {m.column + 1}" if m is not None else "an unknown place"


def _reason(e: Exception) -> str:
    problem = getattr(e, "problem", None)
    return str(problem or e).strip().splitlines()[0]


def _parse_yaml(text: str, max_depth: int) -> Any:
    # Each frame is [container, path, pending key or _NO_KEY]; lists append, dicts pair up.
    stack: list[list[Any]] = []
    root: list[Any] = []
    documents = 0
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent or kind is yaml.MappingStartEvent \
                    or kind is yaml.SequenceStartEvent or kind is yaml.AliasEvent:
                is_key = bool(stack) and stack[-1][2] is _NO_KEY \
                    and type(stack[-1][0]) is dict
                if event.anchor is not None:
                    what = "aliases (*{})" if kind is yaml.AliasEvent else "anchors (&{})"
                    raise _fail(f"{what.format(event.anchor)} are not allowed at "
                                f"{_mark(event)}", _where(stack)[0])
                if kind is yaml.ScalarEvent:
                    _put(stack, root, _scalar(event, stack, is_key))
                    continue
                path = _where(stack)[0]
                if is_key:
                    raise _fail(f"keys must be strings at {_mark(event)}", path)
                tag = event.tag
                if tag not in (None, "!") and tag not in _COLLECTION_TAGS:
                    raise _fail(f"the tag {_short(tag)} is not allowed at {_mark(event)} "
                                "(JSON types only)", path)
                if len(stack) >= max_depth:
                    raise _fail(f"nested deeper than {max_depth} levels at {_mark(event)}")
                stack.append([{} if kind is yaml.MappingStartEvent else [], path, _NO_KEY])
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                _put(stack, root, stack.pop()[0])
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _fail(f"more than one YAML document (at {_mark(event)})")
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        if "nesting depth" in _reason(e):
            # libyaml reads ahead and has its own (higher) cap; the refusal is the same.
            raise _fail(f"nested deeper than {max_depth} levels") from None
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise _fail(f"invalid YAML{where}: {_reason(e)}") from None
    except yaml.YAMLError as e:
        raise _fail(f"invalid YAML: {_reason(e)}") from None
    finally:
        loader.dispose()
    if not root:
        raise _fail("the document is empty")
    return root[0]


class _NoKey:
    pass


_NO_KEY = _NoKey()


def _where(stack: list[list[Any]]) -> tuple[str, bool]:
    """The path of the next value, and whether it is a mapping key."""
    if not stack:
        return "", False
    container, path, key = stack[-1]
    if isinstance(container, list):
        return join(path, len(container)), False
    if key is _NO_KEY:
        return path, True
    return join(path, key), False


def _put(stack: list[list[Any]], root: list[Any], value: Any) -> None:
    if not stack:
        root.append(value)
        return
    frame = stack[-1]
    container, path, key = frame
    if isinstance(container, list):
        container.append(value)
    elif key is _NO_KEY:
        if value in container:
            raise _fail("duplicate key", join(path, value))
        frame[2] = value
    else:
        container[key] = value
        frame[2] = _NO_KEY
