"""Read a rules file: YAML -> node tree (for line/column) -> pydantic -> semantic checks.

The YAML is composed once into a node tree, which keeps every value's position. A pydantic
error location such as ``("territories", 2, "match", "postal_code")`` is walked down that
tree to the node that caused it, so every error names file, line and column.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Collection, Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from territory.rules.domains import normalize_domain
from territory.rules.errors import RulesFileError
from territory.rules.schema import RulesConfig

Loc = tuple[str | int, ...]
# libyaml when available: big rules files (thousands of named accounts) parse 10x faster.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_rules(path: str | Path, *, known_reps: Collection[str] | None = None) -> RulesConfig:
    """Read and validate a rules file.

    Args:
        path: The YAML file.
        known_reps: Rep ids that exist; when given, every owner in the file must be one.

    Raises:
        RulesFileError: unreadable file, YAML syntax, schema or semantic problem.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesFileError(source, 1, 1, f"cannot read the rules file: {exc.strerror or exc}") from exc
    return parse_rules(text, source, known_reps=known_reps)


def parse_rules(text: str, source: str = "<rules>", *, known_reps: Collection[str] | None = None) -> RulesConfig:
    """Validate rules given as YAML text; ``source`` labels error messages."""
    try:
        loader = _YamlLoader(text)
        try:
            root = loader.get_single_node()
            if root is not None:  # codes and ids are text as written (before anything reads them)
                keep_text_where_strings_expected(root, RulesConfig)
            # Build the data from the same node tree: the text is parsed once.
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise RulesFileError(source, line, column, f"YAML syntax: {exc.problem or exc}") from exc
    if root is None or not isinstance(root, yaml.MappingNode):
        raise RulesFileError(source, 1, 1, "the rules file must be a mapping starting with 'version: 1'")
    locator = _Locator(root, source)
    locator.reject_duplicate_keys(root)
    try:
        rules = RulesConfig.model_validate(data)
    except ValidationError as exc:
        raise locator.error_from_pydantic(exc) from None
    _check_unique_territories(rules, locator)
    _check_named_overlaps(rules, locator)
    rules._origin = locator  # kept so later rep checks can still point at lines
    if known_reps is not None:
        check_known_reps(rules, known_reps)
    return rules


_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"


def keep_text_where_strings_expected(node: yaml.Node, model: type[BaseModel]) -> bool:
    """Retag plain scalars as text wherever the schema expects a string (codes, ids, names).

    YAML reads ``01067`` as the octal number 567, ``NO`` (Norway) as false and
    ``005000000000001`` as a number without its zeros; a postal code, country or id is
    text as written. Returns whether any node changed.
    """
    changed = False
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            field = model.model_fields.get(str(key.value))
            if field is not None:
                changed |= _retag(value, field.annotation)
    return changed


def _retag(node: yaml.Node, annotation: object) -> bool:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        return any([_retag(node, arg) for arg in args])
    if annotation is str:
        return _as_text(node)
    if origin is list and isinstance(node, yaml.SequenceNode):
        return any([_retag(item, args[0]) for item in node.value])
    if origin is list and isinstance(node, yaml.ScalarNode):  # `country: DE` for `[DE]`
        return _retag(node, args[0])
    if origin is dict and isinstance(node, yaml.MappingNode):
        return any([_retag(k, args[0]) | _retag(v, args[1]) for k, v in node.value])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return keep_text_where_strings_expected(node, annotation)
    return False


def _as_text(node: yaml.Node) -> bool:
    """A plain scalar that YAML would read as a number, boolean or date becomes its text."""
    if not isinstance(node, yaml.ScalarNode) or node.style not in (None, "") or node.tag in (_STR_TAG, _NULL_TAG):
        return False
    node.tag = _STR_TAG
    return True


def check_known_reps(rules: RulesConfig, known_reps: Collection[str]) -> None:
    """Every owner, partner rep and approver in the rules must be a known rep id.

    Raises:
        RulesFileError: the first unknown rep, located in the file when it was parsed from one.
    """
    known = set(known_reps)
    locator: _Locator | None = rules._origin
    places: list[tuple[Loc, str]] = [(("territories", i, "owner"), t.owner) for i, t in enumerate(rules.territories)]
    places += [(("named_accounts", i, "owner"), n.owner) for i, n in enumerate(rules.named_accounts)]
    places += [(("partner_reps", i), rep) for i, rep in enumerate(rules.partner_reps)]
    places += [(("approvers", "users", i), rep) for i, rep in enumerate(rules.approvers.users)]
    for rep, manager in rules.approvers.managers.items():
        places += [(("approvers", "managers", rep), rep), (("approvers", "managers", rep), manager)]
    for loc, rep in places:
        if rep not in known:
            problem = f"unknown rep {rep!r}: not among the {len(known)} known reps (check the id or sync owners)"
            if locator is None:
                raise RulesFileError("<rules>", 1, 1, f"{_dotted(loc)}: {problem}")
            raise locator.error(loc, problem)


def _check_unique_territories(rules: RulesConfig, locator: _Locator) -> None:
    seen: dict[str, int] = {}
    for index, territory in enumerate(rules.territories):
        if territory.id in seen:
            first = locator.position(("territories", seen[territory.id], "id"))
            raise locator.error(
                ("territories", index, "id"),
                f"duplicate territory id {territory.id!r} (first defined at line {first[0]})",
            )
        seen[territory.id] = index


def _check_named_overlaps(rules: RulesConfig, locator: _Locator) -> None:
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    for index, entry in enumerate(rules.named_accounts):
        field = "account" if entry.account is not None else "domain"
        value = entry.account if entry.account is not None else normalize_domain(entry.domain)
        key = (field, value or "")
        if key in seen and seen[key][1] != entry.owner:
            first_index, first_owner = seen[key]
            line = locator.position(("named_accounts", first_index, field))[0]
            raise locator.error(
                ("named_accounts", index, field),
                f"overlapping named entries: {field} {value!r} is named for {entry.owner!r} here "
                f"and for {first_owner!r} at line {line}; keep one",
            )
        seen.setdefault(key, (index, entry.owner))


class _Locator:
    """Maps a location path to the YAML node that produced it."""

    def __init__(self, root: yaml.Node, source: str) -> None:
        self.root = root
        self.source = source

    def node_at(self, loc: Loc, *, want_key: bool = False) -> yaml.Node:
        """The deepest node along ``loc`` (the key node itself when ``want_key``)."""
        node = self.root
        for depth, part in enumerate(loc):
            last = depth == len(loc) - 1
            if isinstance(node, yaml.MappingNode):
                pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
                if pair is None:
                    return node
                node = pair[0] if (last and want_key) else pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                return node
        return node

    def position(self, loc: Loc, *, want_key: bool = False) -> tuple[int, int]:
        mark = self.node_at(loc, want_key=want_key).start_mark
        return mark.line + 1, mark.column + 1

    def error(self, loc: Loc, problem: str, *, want_key: bool = False) -> RulesFileError:
        line, column = self.position(loc, want_key=want_key)
        return RulesFileError(self.source, line, column, problem)

    def error_from_pydantic(self, exc: ValidationError) -> RulesFileError:
        """The first pydantic error, located and reworded for an admin."""
        first = exc.errors()[0]
        loc: Loc = tuple(first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_fields(loc[:-1]))
            return self.error(loc, f"unknown field {loc[-1]!r} in {_dotted(loc[:-1]) or 'the top level'} (allowed: {allowed})", want_key=True)
        if first["type"] == "missing":
            return self.error(loc[:-1], f"{_dotted(loc)}: required field is missing")
        node = self.node_at(loc)
        if isinstance(node, yaml.SequenceNode):
            # A list-level validator names the bad entry; point at that entry.
            node = next((item for item in node.value if repr(str(item.value)) in message), node)
        mark = node.start_mark
        return RulesFileError(self.source, mark.line + 1, mark.column + 1, f"{_dotted(loc)}: {message}")

    def reject_duplicate_keys(self, node: yaml.Node) -> None:
        """PyYAML keeps the last of two equal keys silently; an admin never means that."""
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if key.value in seen:
                    mark = key.start_mark
                    raise RulesFileError(self.source, mark.line + 1, mark.column + 1, f"key {key.value!r} appears twice in this mapping")
                seen.add(key.value)
                self.reject_duplicate_keys(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self.reject_duplicate_keys(item)


def _dotted(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _allowed_fields(loc: Loc) -> list[str]:
    """Field names of the model found at ``loc`` (walking the schema, not the data)."""
    model: type[BaseModel] | None = RulesConfig
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        model = _model_in(field.annotation) if field is not None else None
    return sorted(model.model_fields) if model is not None else []


def _model_in(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, (types.UnionType, typing._GenericAlias)) or typing.get_origin(annotation):  # type: ignore[attr-defined]
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
