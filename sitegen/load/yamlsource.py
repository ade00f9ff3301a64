"""YAML that remembers where each key was, so errors can name the line.

On top of PyYAML's safe loading:

- A key written twice in one mapping is an error (PyYAML silently keeps the last one).
  Keys a merge key brings in (`<<: *defaults`) are not duplicates: the mapping's own keys
  override them, as YAML's merge key is defined.
- Nesting deeper than `MAX_DEPTH` is an error naming its line. libyaml's composer recurses
  in C: a deep enough file (`[[[[...`) would crash the process, and the Python one ends in
  a RecursionError. Here nodes are composed by PyYAML's Python composer from libyaml's
  events (as fast), with the depth counted as it goes.
- Lines are counted at "\\n", "\\r\\n" and "\\r" only, as editors and the other record
  formats count them. YAML 1.1 also breaks lines at U+0085, U+2028 and U+2029, which
  would shift every later line number of a file holding one.
"""

from __future__ import annotations

import bisect
import re

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

MAX_DEPTH = 20  # collections inside collections; a record file needs 5 at most
MERGE_TAG = "tag:yaml.org,2002:merge"

try:  # libyaml's parser is several times faster; composing and constructing stay Python.
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _CParser = None


class LocatedDict(dict):
    """A dict from YAML with the line of the mapping and of each key (1-based)."""

    line: int = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines: dict = {}

    def line_of(self, key) -> int:
        return self.lines.get(key, self.line)


class LocatedList(list):
    line: int = 0


class YamlSyntaxError(Exception):
    """What is wrong, and where: `line` (1-based) and, when known, `path`, the keys (str)
    and list indexes (int, 0-based) from the top of the document to the place."""

    def __init__(self, line: int | None, message: str, path: tuple = ()):
        self.line, self.message, self.path = line, message, path
        super().__init__(message)


class _Located(yaml.YAMLError):
    def __init__(self, mark, message: str, path: tuple = ()):
        self.mark, self.message, self.path = mark, message, path
        super().__init__(message)


class _Lines:
    """Line numbers (1-based) of marks, with only \\n, \\r\\n and \\r ending a line."""

    def __init__(self, text: str):
        self.starts = None
        if "\x85" in text or "\u2028" in text or "\u2029" in text:
            self.starts = [0, *(m.end() for m in re.finditer(r"\r\n|\r|\n", text))]

    def of(self, mark) -> int | None:
        if mark is None:
            return None
        if self.starts is None:
            return mark.line + 1
        return bisect.bisect_right(self.starts, mark.index)


class _Composing:
    """Composer hooks: the depth limit, and the path to the node being composed."""

    def _start(self, text: str, max_depth: int) -> None:
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.located_lines = _Lines(text)
        self.max_depth = max_depth
        self.depth = 0
        self.path: list = []
        self.merged: dict = {}  # mapping node -> how many of its pairs a merge key brought in

    def compose_node(self, parent, index):
        self.path.append(index)
        try:
            return Composer.compose_node(self, parent, index)
        finally:
            self.path.pop()

    def compose_sequence_node(self, anchor):
        self._enter()
        try:
            return Composer.compose_sequence_node(self, anchor)
        finally:
            self.depth -= 1

    def compose_mapping_node(self, anchor):
        self._enter()
        try:
            return Composer.compose_mapping_node(self, anchor)
        finally:
            self.depth -= 1

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            path = tuple(_path_step(step) for step in self.path if step is not None)
            raise _Located(self.peek_event().start_mark,
                           f"nested more than {self.max_depth} levels deep", path)

    def flatten_mapping(self, node):
        # Remember, once, how many pairs came from merge keys: they come first after
        # flattening, and the mapping's own keys may override them.
        first_time = node not in self.merged
        own = sum(1 for key_node, _ in node.value if key_node.tag != MERGE_TAG)
        SafeConstructor.flatten_mapping(self, node)
        if first_time:
            self.merged[node] = len(node.value) - own


def _path_step(step):
    if isinstance(step, ScalarNode):
        return step.value
    return step if isinstance(step, int) else "?"


if _CParser is not None:

    class _LocatingLoader(_Composing, _CParser, Composer, SafeConstructor, Resolver):
        # libyaml's events, Python's composer (CParser would compose recursively in C).
        get_single_node = Composer.get_single_node
        get_node = Composer.get_node
        check_node = Composer.check_node

        def __init__(self, stream: str, max_depth: int = MAX_DEPTH):
            _CParser.__init__(self, stream)
            self._start(stream, max_depth)

else:  # pragma: no cover - depends on how PyYAML was built

    class _LocatingLoader(_Composing, yaml.SafeLoader):
        def __init__(self, stream: str, max_depth: int = MAX_DEPTH):
            yaml.SafeLoader.__init__(self, stream)
            self._start(stream, max_depth)


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    merged = loader.merged.get(node, 0)
    lines = loader.located_lines
    result = LocatedDict()
    result.line = lines.of(node.start_mark)
    own_keys = set()
    for position, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConstructorError("while constructing a mapping", node.start_mark,
                                   "found a key that is a list or mapping", key_node.start_mark) from None
        if position >= merged:  # the mapping's own key, not one a merge key brought in
            if key in own_keys:
                raise _Located(key_node.start_mark, f"duplicate key {key!r}", (key,))
            own_keys.add(key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = lines.of(key_node.start_mark)
    return result


def _construct_sequence(loader, node):
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = loader.located_lines.of(node.start_mark)
    return result


def _construct_timestamp(loader, node):
    try:
        return SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:  # 2026-02-30: not a date, so it stays the text, for the checks to name
        return loader.construct_scalar(node)


def _construct_int(loader, node):
    # A number of more digits than Python converts (4300) is an error here, and a huge one
    # written in hex (0xfff...) would be one wherever it is shown: neither is a record's.
    try:
        value = SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:
        value = None
    if value is None or value.bit_length() > 256:
        raise ConstructorError(None, None, "a number too long to read", node.start_mark)
    return value


_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_LocatingLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_LocatingLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(text: str, max_depth: int = MAX_DEPTH):
    """Parse YAML into LocatedDict/LocatedList; anything wrong becomes YamlSyntaxError."""
    loader = _LocatingLoader(text, max_depth)
    lines = loader.located_lines
    try:
        return loader.get_single_data()
    except _Located as err:
        raise YamlSyntaxError(lines.of(err.mark), err.message, err.path) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise YamlSyntaxError(lines.of(mark), f"invalid YAML: {err.problem or err}") from None
    except yaml.YAMLError as err:
        raise YamlSyntaxError(None, f"invalid YAML: {err}") from None
    finally:
        loader.dispose()
