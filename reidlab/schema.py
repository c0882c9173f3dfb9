"""The settings schema's building blocks: a field with its help and choices, the one coercion
of a value (a KEY=VALUE string, a form widget's value, a JSON value) to a field's type, and the
one parser of ``KEY=VALUE`` text.

``TrainConfig`` (``reidlab.engine.config``) and every method's ``Options`` dataclass declare their
fields with :func:`option`; the CLI flags (``reidlab.engine.cli_train``), the app's Train form,
the sweep's ``--param`` and ``--opt``/``--set`` strings are all generated from these fields,
so a setting is declared once. No torch here: ``--help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import field
from typing import Callable, Sequence

from reidlab.errors import ConfigError


def option(default, help: str, choices: Sequence | Callable[[], Sequence] | None = None, *,
           flag: str | None = None, parse: Callable[[str], object] | None = None,
           form: bool = True):
    """A settings field: its default, a help text (CLI ``--help``, the app's tooltip), and

    - ``choices``: the allowed values, or a function giving them (a registry read when asked,
      e.g. the dataset layouts), so no list of choices is kept twice;
    - ``flag``: the CLI flag when it is not ``--field-name`` (``--clips`` for
      ``clips_per_tracklet``);
    - ``parse``: a function from the flag's text to the value (e.g. camera groups);
    - ``form``: False for settings the app's Train form does not show.
    """
    meta: dict = {"help": help, "form": form}
    if choices is not None:
        meta["choices"] = choices if callable(choices) else tuple(choices)
    if flag is not None:
        meta["flag"] = flag
    if parse is not None:
        meta["parse"] = parse
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


def choices_of(f: dataclasses.Field) -> tuple | None:
    """The field's allowed values (a function is called), or None."""
    c = f.metadata.get("choices")
    if c is None:
        return None
    return tuple(c() if callable(c) else c)


def default_of(f: dataclasses.Field):
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def flag_of(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def allowed_types(f: dataclasses.Field) -> tuple:
    """The types a field's annotation admits (``int | None`` → (int, NoneType))."""
    tp = f.type if not isinstance(f.type, str) else eval(f.type, vars(typing), {})  # noqa: S307
    args = typing.get_args(tp) if isinstance(tp, types.UnionType) or \
        typing.get_origin(tp) is typing.Union else (tp,)
    return tuple(typing.get_origin(t) or t for t in args)


TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def coerce(owner: str, f: dataclasses.Field, value):
    """``value`` converted to the field's declared type and checked against its choices, or a
    one-line ConfigError naming ``owner`` and the field. Strings (from KEY=VALUE or a form)
    are read as the field's type: ``"0"`` → 0.0 for a float, ``"off"`` → False for a bool,
    JSON for lists and dicts."""
    allowed = allowed_types(f)
    if value is None and type(None) in allowed:
        return None
    parse = f.metadata.get("parse")
    if parse is not None and isinstance(value, str):
        try:
            value = parse(value)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{owner} {f.name}={value!r}: {e}") from None
    choices = choices_of(f)
    for t in allowed:
        if t is type(None):
            continue
        try:
            if t is bool:
                if isinstance(value, str):
                    if value.lower() in TRUE:
                        value = True
                    elif value.lower() in FALSE:
                        value = False
                    else:
                        continue
                if not isinstance(value, bool) and type(value).__name__ != "bool_":
                    continue
                v = bool(value)
            elif t is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    continue
                if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
                    continue
                v = int(value)
            elif t is float:
                if isinstance(value, bool):
                    continue
                v = float(value)
            elif t is str:
                if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                    continue
                v = str(value)
            elif t in (list, dict):
                v = json.loads(value) if isinstance(value, str) else value
                if not isinstance(v, t):
                    continue
            else:
                v = value
        except (TypeError, ValueError):
            continue
        if choices and v not in choices:
            raise ConfigError(f"{owner} {f.name}={value!r}: expected one of {list(choices)}")
        return v
    raise ConfigError(f"{owner} {f.name}={value!r}: expected {_type_name(f)}")


def _type_name(f: dataclasses.Field) -> str:
    return " or ".join("None" if t is type(None) else getattr(t, "__name__", str(t))
                       for t in allowed_types(f))


def parse_kv(text: str, what: str = "KEY=VALUE") -> tuple[str, str]:
    """``"lam=0.3"`` → ``("lam", "0.3")`` (dashes in the key read as underscores); the value
    stays text until :func:`coerce` reads it as its field's type."""
    key, sep, value = str(text).partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key:
        raise ConfigError(f"{what}: expected KEY=VALUE, got {text!r}")
    return key, value.strip()


def parse_kv_list(items: Sequence[str], what: str = "KEY=VALUE") -> dict[str, str]:
    return dict(parse_kv(i, what) for i in items or ())


def guess_value(text: str):
    """A value for a key without a declared type (a dataset reader's option): an int when it
    is one, else the text."""
    t = text.strip()
    return int(t) if t.lstrip("+-").isdigit() else t
