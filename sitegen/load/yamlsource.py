"""YAML that remembers where each key was, so errors can name the line.

PyYAML silently keeps the last of two equal keys; here a duplicate is an error.
"""

from __future__ import annotations

import yaml

try:  # libyaml's parser is several times faster; the constructor stays Python.
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


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


class DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key, line: int):
        self.key, self.line = key, line
        super().__init__(f"duplicate key {key!r}")


class _LocatingLoader(_BaseLoader):
    pass


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise DuplicateKeyError(key, key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader, node):
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    return result


_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


class YamlSyntaxError(Exception):
    def __init__(self, line: int | None, message: str):
        self.line, self.message = line, message
        super().__init__(message)


def load_yaml(text: str):
    """Parse YAML into LocatedDict/LocatedList; syntax errors become YamlSyntaxError."""
    try:
        return yaml.load(text, Loader=_LocatingLoader)  # noqa: S506 - safe loader subclass
    except DuplicateKeyError as err:
        raise YamlSyntaxError(err.line, f"duplicate key {err.key!r}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise YamlSyntaxError(line, f"invalid YAML: {err.problem or err}") from None
    except yaml.YAMLError as err:
        raise YamlSyntaxError(None, f"invalid YAML: {err}") from None
