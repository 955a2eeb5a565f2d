"""``kubernetes_validate.validate``, as the tests' independent judge of schema validity, made fast
enough to run on every object of the corpus.

The library builds a fresh ``referencing`` registry and validator for every object it is given, so
the ``$ref`` resolution of a Deployment's schema starts from nothing each time (about 10 ms an
object). :func:`validate` builds the validator exactly as the library does (same schema files, same
``Draft202012Validator``, same registry) once per kind, apiVersion, version and strictness, and
raises the library's own exceptions, so a test reads the same verdicts as it would from the library.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils as library
from referencing import Registry, Resource

latest_version = kubernetes_validate.latest_version
SchemaNotFoundError = kubernetes_validate.SchemaNotFoundError
ValidationError = kubernetes_validate.ValidationError


@functools.cache
def _contents(path: str, version: str) -> Any:
    return library.schema_contents(path, version)


@functools.cache
def _schema_version(desired: str) -> str:
    """The newest schema version the library has that is not newer than ``desired`` (its own rule)."""
    wanted = library.major_minor(desired.removeprefix("v"))
    return [v for v in library.all_versions() if library.major_minor(v) <= wanted][-1]


@functools.cache
def _validator(kind: str, api_version: str, version: str, strict: bool) -> jsonschema.Validator:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{version}-local{'-strict' if strict else ''}"
    try:
        schema = _contents(f"{folder}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        raise SchemaNotFoundError(version=version, kind=kind, api_version=api_version) from None
    definitions = _contents(f"{folder}/_definitions.json", version)
    registry: Registry[Any] = Resource.from_contents(definitions) @ (
        Resource.from_contents(schema) @ Registry()
    )
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate(data: dict[str, Any], desired_version: str, strict: bool = False) -> None:
    """Raise :class:`SchemaNotFoundError` or :class:`ValidationError` as the library does."""
    version = _schema_version(desired_version)
    validator = _validator(data["kind"], data["apiVersion"], version, strict)
    try:
        validator.validate(data)
    except jsonschema.ValidationError as exc:
        raise ValidationError(exc, version=library.major_minor(version)) from None
