"""Read the settings for a command (the TOML file, then the environment) and say what is
wrong in the operator's words: where the value came from, and what is expected there."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsConfigDict

from bot.config import (
    ENV_PREFIX,
    EXPECTED,
    ConfigError,
    DingTalkChannelSettings,
    Settings,
    SimChannelSettings,
    WeChatChannelSettings,
    WeComBotChannelSettings,
    WeComChannelSettings,
)

CHANNEL_TYPES: dict[str, type[BaseModel]] = {
    "wechat": WeChatChannelSettings,
    "dingtalk": DingTalkChannelSettings,
    "wecom": WeComChannelSettings,
    "wecom_bot": WeComBotChannelSettings,
    "sim": SimChannelSettings,
}
TYPE_NAMES = ", ".join(CHANNEL_TYPES)
# pydantic's error types, as what the value should be; {…} are the error's context
WORDS = {
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text in quotes",
    "path_type": "must be a path in quotes",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "string_too_short": "must be at least {min_length} characters long",
    "string_too_long": "must be at most {max_length} characters long",
    "literal_error": "must be {expected}",
    "union_tag_invalid": f"has an unknown type '{{tag}}': one of {TYPE_NAMES} is expected",
    "union_tag_not_found": f"needs a type: one of {TYPE_NAMES}",
    "model_type": "must be a table of keys",
    "dict_type": "must be a table of keys",
    "list_type": "must be a list",
}
SHOWN = ("parsing", "_type", "than", "literal")  # errors that quote the value given


def load_settings(path: Path | None = None) -> Settings:
    """Read the TOML file (when given) and the environment; raise ConfigError on any fault."""
    data: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc

    class FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        return FromFile()
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, path, data)) from exc


def describe_errors(
    exc: ValidationError, path: Path | None = None, data: dict[str, Any] | None = None
) -> str:
    """One line per fault: the key as the TOML file writes it, where it came from (the
    file, or the environment variable), and what is expected."""
    return "\n".join(
        f"config key {_key(err['loc'])}{_origin(err['loc'], path, data or {})}: {_expected(err)}"
        for err in exc.errors()
    )


def _plain(loc: tuple[int | str, ...]) -> list[int | str]:
    """The path as the operator wrote it: without the channel type pydantic adds after a
    channel's number (a section may share a type's name: [sim])."""
    parts = list(loc)
    if parts[:1] == ["channels"] and len(parts) > 2 and parts[2] in CHANNEL_TYPES:
        del parts[2]
    return parts


def _key(loc: tuple[int | str, ...]) -> str:
    parts = _plain(loc)
    if not parts:
        return "(the whole file)"
    head, rest = parts[0], parts[1:]
    if head == "channels" and rest and isinstance(rest[0], int):
        block = f"[[channels]] number {rest[0] + 1}"
        return f"{block}, {'.'.join(map(str, rest[1:]))}" if rest[1:] else block
    return f"[{head}]" + (" " + ".".join(map(str, rest)) if rest else "")


def _origin(loc: tuple[int | str, ...], path: Path | None, data: dict[str, Any]) -> str:
    parts = [str(p).upper() for p in _plain(loc)]
    present = {name.upper() for name in os.environ}
    for n in range(len(parts), 0, -1):  # the most specific variable that sets it
        name = ENV_PREFIX + "__".join(parts[:n])
        if name in present:
            return f" from {name}"
    name = ENV_PREFIX + "__".join(parts)
    under = sorted(v for v in present if parts and v.startswith(name + "__"))
    if under:
        return f" from {', '.join(under)}"
    if path is not None and (not parts or parts[0].lower() in data):
        return f" in {path}"
    return ""


def _expected(err: ErrorDetails) -> str:
    kind, ctx = err["type"], err.get("ctx", {})
    if kind == "extra_forbidden":
        return _unknown(err["loc"])
    if kind == "string_pattern_mismatch":
        return "must be " + EXPECTED.get(ctx.get("pattern", ""), "in another form")
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    words = WORDS.get(kind)
    if words is None:
        return err["msg"].replace("Input should be", "must be")
    words = words.format(**ctx)
    value = err.get("input")
    if any(s in kind for s in SHOWN) and isinstance(value, str | int | float):
        words += f", not {value!r}"
    return words


def _unknown(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] | None = Settings
    for part in loc[:-1]:
        if isinstance(part, str) and model is not None and part in model.model_fields:
            found = model.model_fields[part].annotation
            model = found if isinstance(found, type) and issubclass(found, BaseModel) else None
        elif isinstance(part, str) and part in CHANNEL_TYPES:
            model = CHANNEL_TYPES[part]
    if model is None:
        return "is not a known key"
    known = ", ".join(model.model_fields)
    if model is Settings:
        return f"is not a known section (the sections are {known})"
    return f"is not a known key (known here: {known})"
