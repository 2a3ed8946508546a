"""Render a django-ninja answer without django-ninja's per-attribute validation, for hot paths.

django-ninja reads every field of a response schema through a `DjangoGetter` and validates the
result, which for a case (forty fields and nested references) costs more than storing it. Where
the object is one we built ourselves a moment ago, `plain(schema, obj)` reads the same fields
the same way (the schema's resolvers, then attributes, with `DjangoGetter`'s conversions) into
plain Python values, and `answer` renders them as the API's renderer does: the bytes match what
django-ninja would have sent (a test holds the two together). The OpenAPI document still names
the schema.
"""

import types
import typing
from datetime import datetime
from operator import attrgetter

from django.db.models import Manager, QuerySet
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest, HttpResponse
from ninja import Schema
from ninja.renderers import JSONRenderer

_renderer = JSONRenderer()  # the API's renderer (wangge/api.py sets no other)


_PLAIN = frozenset({str, int, float, bool, type(None), datetime})


def _convert(value):
    # As DjangoGetter._convert_result.
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Manager):
        return list(value.all())
    if isinstance(value, QuerySet):
        return list(value)
    if callable(value):
        return value()
    if isinstance(value, FieldFile):
        return value.url if value else None
    return value


def _nested(annotation) -> tuple[type[Schema] | None, bool]:
    """(the Schema a field holds, whether it holds a list of them)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _nested(inner[0]) if len(inner) == 1 else (None, False)
    if origin is list:
        (item,) = typing.get_args(annotation)
        schema, _ = _nested(item)
        return schema, schema is not None
    if isinstance(annotation, type) and issubclass(annotation, Schema):
        return annotation, False
    return None, False


_readers: dict[type[Schema], list] = {}


def _readers_of(schema: type[Schema]) -> list:
    readers = _readers.get(schema)
    if readers is None:
        readers = []
        for name, field in schema.model_fields.items():
            resolver = schema._ninja_resolvers.get(name)
            if resolver is not None:
                if not resolver._static or resolver._takes_context:
                    raise TypeError(f"{schema.__name__}.resolve_{name}: only static resolvers")
                read = resolver._func
            else:
                read = attrgetter(field.alias or name)
            nested, many = _nested(field.annotation)
            readers.append((field.serialization_alias or name, read, nested, many))
        _readers[schema] = readers
    return readers


def plain(schema: type[Schema], obj) -> dict:
    out = {}
    for key, read, nested, many in _readers_of(schema):
        value = _convert(read(obj))
        if nested is not None and value is not None:
            value = [plain(nested, v) for v in value] if many else plain(nested, value)
        out[key] = value
    return out


def answer(request: HttpRequest, schema: type[Schema], obj, *, status: int) -> HttpResponse:
    content = _renderer.render(request, plain(schema, obj), response_status=status)
    content_type = f"{_renderer.media_type}; charset={_renderer.charset}"  # as NinjaAPI's
    return HttpResponse(content, status=status, content_type=content_type)
