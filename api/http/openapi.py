"""Request schemas as strict as the server: the rules of msgspec request bodies that
Litestar leaves out of their schemas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import Schema

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

# Litestar copies a bound only when it is truthy, so ``ge=0`` went missing.
_BOUNDS = {"ge": "minimum", "gt": "exclusive_minimum", "le": "maximum", "lt": "exclusive_maximum"}


class MsgspecRulesSchemaPlugin(StructSchemaPlugin):
    """Struct schemas with what Litestar leaves out: ``additionalProperties: false`` for
    Structs that forbid unknown fields, numeric bounds of 0, and the keys of a field's
    ``extra_json_schema`` (rules the services check, documented with ``msgspec.Meta``)."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        """Litestar's schema for the Struct, completed."""
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct: type[msgspec.Struct] = field_definition.type_
        if struct.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        aliases = Schema.field_aliases()
        info: Any = msgspec.inspect.type_info(struct)
        for field in info.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            if not isinstance(prop, Schema):
                continue
            field_type, extra = _unwrap(field.type)
            if isinstance(field_type, msgspec.inspect.IntType | msgspec.inspect.FloatType):
                for bound, keyword in _BOUNDS.items():
                    if (value := getattr(field_type, bound)) is not None:
                        setattr(prop, keyword, value)
            for key, value in extra.items():
                name = aliases.get(key, key)
                if not hasattr(prop, name):
                    raise ValueError(f"{struct.__name__}.{field.name}: no schema keyword {key!r}")
                setattr(prop, name, value)
        return schema


def _unwrap(field_type: msgspec.inspect.Type) -> tuple[msgspec.inspect.Type, dict[str, Any]]:
    """A field's type inside ``X | None`` and its ``Meta``, and its ``extra_json_schema``."""
    if isinstance(field_type, msgspec.inspect.UnionType):
        inner = [t for t in field_type.types if not isinstance(t, msgspec.inspect.NoneType)]
        field_type = inner[0] if len(inner) == 1 else field_type
    if isinstance(field_type, msgspec.inspect.Metadata):
        return field_type.type, dict(field_type.extra_json_schema or {})
    return field_type, {}
