"""The learning settings page's form, read off the settings model's JSON schema.

Every field of :class:`~strategy_factory.learning.settings.LearningSettings` becomes one
control: a checkbox, a choice, or a number with the model's bounds as hints. The model
stays the only judge (the page sends what was typed and shows the API's 422 next to the
field); the form only mirrors it, so a field added to the model appears without touching
the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

Kind = Literal["boolean", "integer", "number", "choice", "text"]
_KINDS: dict[str, Kind] = {
    "boolean": "boolean",
    "integer": "integer",
    "number": "number",
    "string": "text",
}
# Words a field name abbreviates, spelled as the trader reads them.
_WORDS = {"arl": "ARL"}
_TITLES = {"meta_model": "Meta-model", "auto_demote": "Auto-demote"}


@dataclass(frozen=True)
class SettingsField:
    """One control: where its value goes (``section.name``) and what it accepts."""

    path: str
    label: str
    kind: Kind
    description: str
    nullable: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    bounds: str = ""

    @property
    def help(self) -> str:
        """The description, with the accepted values in brackets."""
        if not self.bounds:
            return self.description
        if not self.description:
            return self.bounds[0].upper() + self.bounds[1:] + "."
        return f"{self.description.rstrip('.')} ({self.bounds})."

    @property
    def id(self) -> str:
        """The control's element id."""
        return "setting-" + self.path.replace(".", "-").replace("_", "-")


@dataclass(frozen=True)
class SettingsSection:
    """A fieldset: one section of the settings (or one top-level switch)."""

    name: str
    title: str
    description: str
    fields: tuple[SettingsField, ...]


def settings_form(model: type[BaseModel]) -> list[SettingsSection]:
    """The sections and fields of ``model``, in its declared order."""
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    sections = []
    for name, prop in schema["properties"].items():
        reference = prop.get("$ref") or _single_ref(prop)
        if reference is None:
            field = _field(name, name, prop)
            sections.append(SettingsSection(name, _title(name), "", (field,)))
            continue
        section = definitions[reference.rsplit("/", 1)[-1]]
        fields = tuple(
            _field(f"{name}.{key}", key, value) for key, value in section["properties"].items()
        )
        sections.append(
            SettingsSection(name, _title(name), _sentence(section.get("description")), fields)
        )
    return sections


def _single_ref(prop: dict[str, Any]) -> str | None:
    options = prop.get("allOf", [])
    return options[0].get("$ref") if len(options) == 1 else None


def _field(path: str, name: str, prop: dict[str, Any]) -> SettingsField:
    options = prop.get("anyOf", [prop])
    nullable = any(option.get("type") == "null" for option in options)
    value = next(option for option in options if option.get("type") != "null")
    kind: Kind | None = "choice" if "enum" in value else _KINDS.get(value.get("type", ""))
    if kind is None:
        raise TypeError(f"the settings form has no control for {path} ({value}): add one here")
    minimum = value.get("minimum", value.get("exclusiveMinimum"))
    maximum = value.get("maximum", value.get("exclusiveMaximum"))
    return SettingsField(
        path=path,
        label=_title(name),
        kind=kind,
        description=_sentence(prop.get("description")),
        nullable=nullable,
        choices=tuple(value.get("enum", ())),
        minimum=minimum,
        maximum=maximum,
        bounds=_bounds(value, nullable),
    )


def _bounds(value: dict[str, Any], nullable: bool) -> str:
    parts = []
    if "minimum" in value:
        parts.append(f"at least {_number(value['minimum'])}")
    if "exclusiveMinimum" in value:
        parts.append(f"above {_number(value['exclusiveMinimum'])}")
    if "maximum" in value:
        parts.append(f"at most {_number(value['maximum'])}")
    if "exclusiveMaximum" in value:
        parts.append(f"below {_number(value['exclusiveMaximum'])}")
    if value.get("type") == "integer":
        parts.insert(0, "a whole number")
    if nullable:
        parts.append("empty for none")
    return ", ".join(parts)


def _number(value: float) -> str:
    return f"{value:,}" if float(value).is_integer() else str(value)


def _label(name: str) -> str:
    words = [_WORDS.get(word, word) for word in name.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:]


def _title(name: str) -> str:
    return _TITLES.get(name) or _label(name)


def _sentence(text: str | None) -> str:
    if not text:
        return ""
    text = text.replace("``", "")
    return text if text.endswith(".") else text + "."
