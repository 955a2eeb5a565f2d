"""Where the JSON schema of an object comes from: ``kubernetes-validate``'s files, or ``--schema-dir``.

Built-in kinds use the schemas the ``kubernetes-validate`` package ships for Kubernetes 1.25 and
newer, found the way its own ``validate()`` finds them (:func:`schema_file`): the directory of the
newest version not newer than the target, ``-strict`` for ``--strict`` (every object schema there
forbids unknown properties), and the file ``{kind}-{group}-{version}.json`` with the group cut at its
first dot (``rbac.authorization.k8s.io/v1`` -> ``rbac-v1``; core ``v1`` -> ``v1``).

That package's ``validate()`` re-reads the object's schema and the 1.1 MB ``_definitions.json`` on
every call (about 20 ms an object, so 45 s for the 2,200 objects of the shared corpus). Here each
schema becomes one ``jsonschema`` validator, built once per process and reused: the same corpus
validates in about a second.

Which kinds a version *serves* comes from the ``x-kubernetes-group-version-kind`` entries of its
definitions. An object of a built-in API group (a group without a dot, such as ``apps`` or
``extensions``, or one the version serves) whose group/version/kind is not served was removed
(``extensions/v1beta1`` Deployments) or never existed: :class:`NotServed`. Anything else is a
custom resource: its schema comes from ``--schema-dir`` (kubeconform's layouts, see
:func:`custom_schema_paths`), else it has :class:`NoSchema` and is not validated.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import urljoin

from remediate.kube import versions
from remediate.yaml.source import read_regular


class NoSchema(NamedTuple):
    """No schema is known for the kind: it is not validated. ``reason`` says what was looked for."""

    reason: str


class NotServed(NamedTuple):
    """A built-in API group's kind and version that the target Kubernetes version does not serve."""

    served: tuple[str, ...]
    """The apiVersions that do serve the kind, e.g. ``("apps/v1",)``; empty if none does."""


def schema_version(target: tuple[int, int]) -> tuple[int, int]:
    """The schema version for a target: the newest known one not newer than it (the oldest known
    when the target is older than all of them)."""
    known = versions.known()
    older = [version for version in known if version <= target]
    return older[-1] if older else known[0]


def supported(target: tuple[int, int]) -> bool:
    """True when ``kubernetes-validate`` has schemas for ``target``'s minor version or an older one."""
    known = versions.known()
    return known[0] <= target <= known[-1]


def split_api_version(api_version: str) -> tuple[str, str]:
    """``"apps/v1"`` -> ``("apps", "v1")``; ``"v1"`` -> ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


@cache
def schema_file(kind: str, api_version: str) -> str:
    """The file name ``kubernetes-validate`` gives the schema of a kind (see the module docstring)."""
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{api}.json"


def custom_schema_paths(schema_dir: str, kind: str, api_version: str) -> list[str]:
    """Where ``--schema-dir`` may hold a custom resource's schema, in the order they are tried.

    ``{kind}_{version}.json`` is what kubeconform's ``openapi2jsonschema.py`` writes from a CRD
    (``rollout_v1alpha1.json``); ``{group}/{kind}_{version}.json`` is the CRDs-catalog layout
    (``argoproj.io/rollout_v1alpha1.json``); ``{kind}-{group}-{version}.json`` is the layout of the
    built-in schemas (``rollout-argoproj-v1alpha1.json``).
    """
    group, version = split_api_version(api_version)
    lowered = kind.lower()
    return [
        os.path.join(schema_dir, f"{lowered}_{version}.json"),
        os.path.join(schema_dir, group, f"{lowered}_{version}.json"),
        os.path.join(schema_dir, schema_file(kind, api_version)),
    ]


class SchemaError(Exception):
    """A ``--schema-dir`` file that cannot be used; the message names it."""


class Catalog(NamedTuple):
    """The schemas of one run: a Kubernetes version, strict or not, and an optional ``--schema-dir``."""

    version: tuple[int, int]
    strict: bool = False
    schema_dir: str | None = None

    @property
    def directory(self) -> str:
        """The package directory of this catalog's built-in schemas, e.g. ``v1.29.0-local-strict``."""
        return f"v{self.version[0]}.{self.version[1]}.0-local" + ("-strict" if self.strict else "")

    def lookup(self, kind: str, api_version: str) -> Any:
        """A ``jsonschema`` validator for the kind, or :class:`NoSchema` / :class:`NotServed`.

        Raises :class:`SchemaError` for a ``--schema-dir`` file that is not a usable JSON schema.
        """
        return _lookup(self, kind, api_version)


@cache
def catalog(target: tuple[int, int], strict: bool, schema_dir: str | None) -> Catalog:
    """The catalog for a run's target version (shared by every file of the process)."""
    return Catalog(schema_version(target), strict, schema_dir)


@cache
def _lookup(catalog: Catalog, kind: str, api_version: str) -> Any:
    group, version = split_api_version(api_version)
    served = _served(catalog.directory)
    if (group, version, kind) in served:
        try:
            return _builtin_validator(catalog.directory, schema_file(kind, api_version))
        except FileNotFoundError:
            return NoSchema(f"kubernetes-validate has no {schema_file(kind, api_version)}")
    if "." not in group or group in {served_group for served_group, _, _ in served}:
        return NotServed(tuple(_show(g, v) for g, v, k in sorted(served) if k == kind))
    if catalog.schema_dir:
        tried = custom_schema_paths(catalog.schema_dir, kind, api_version)
        for path in tried:
            if os.path.isfile(path):
                return _custom_validator(path)
        return NoSchema(f"none of {', '.join(tried)} exists")
    return NoSchema("a custom resource: give its JSON schema with --schema-dir")


def _show(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _contents(directory: str, name: str) -> Any:
    """The JSON of one of kubernetes-validate's schema files (read without importing the package:
    :func:`remediate.kube.versions.schema_roots`); FileNotFoundError when there is none."""
    roots = versions.schema_roots()
    if not roots:  # installed in a form without directories (a zip): ask the package
        from kubernetes_validate.utils import schema_contents

        return schema_contents(f"kubernetes-json-schema/{directory}/{name}", directory)
    with open(os.path.join(roots[0], directory, name), encoding="utf-8") as file:
        return json.load(file)


@cache
def _definitions(directory: str) -> Any:
    """The shared ``_definitions.json`` of a directory, as a ``referencing`` registry."""
    from referencing import Registry, Resource

    return Resource.from_contents(_contents(directory, "_definitions.json")) @ Registry()


@cache
def _served(directory: str) -> frozenset[tuple[str, str, str]]:
    """(group, version, kind) of every kind the directory's Kubernetes version serves."""
    definitions = _contents(directory, "_definitions.json")["$defs"]
    return frozenset(
        (entry["group"], entry["version"], entry["kind"])
        for definition in definitions.values()
        for entry in definition.get("x-kubernetes-group-version-kind", ())
    )


def _builtin_validator(directory: str, name: str) -> Any:
    import jsonschema
    from referencing import Resource

    schema = _contents(directory, name)
    registry = Resource.from_contents(schema) @ _definitions(directory)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _custom_validator(path: str) -> Any:
    import jsonschema

    try:
        data, _ = read_regular(path)
        schema = json.loads(data.decode("utf-8"))
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        cls.check_schema(schema)
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read the schema: {exc.strerror}") from None
    except ValueError as exc:
        raise SchemaError(f"{path}: not JSON: {exc}") from None
    except jsonschema.SchemaError as exc:
        raise SchemaError(f"{path}: not a valid JSON schema: {exc.message}") from None
    return cls(schema)


def part_validator(catalog: Catalog, kind: str, api_version: str, path: tuple[Any, ...]) -> Any:
    """A validator for the value at ``path`` inside objects of a built-in kind, or None.

    The schema is walked along ``path`` (``properties``, ``additionalProperties``, ``items``,
    following each ``$ref``); the validator is a schema that only refers to the JSON pointer found,
    so references inside it resolve as in the whole schema. None when the walk cannot be followed
    (a custom schema, a ``oneOf``, an unknown key): then validate the whole object.
    """
    group, version = split_api_version(api_version)
    if (group, version, kind) not in _served(catalog.directory):
        return None
    return _part_validator(catalog.directory, schema_file(kind, api_version), tuple(path))


@cache
def _part_validator(directory: str, name: str, path: tuple[Any, ...]) -> Any:
    import jsonschema

    try:
        schema = _contents(directory, name)
    except FileNotFoundError:
        return None
    from referencing import Resource

    registry = Resource.from_contents(schema) @ _definitions(directory)
    resolver = registry.resolver(base_uri=schema["$id"])
    location, contents = schema["$id"] + "#", schema
    for part in path:
        while isinstance(contents, dict) and "$ref" in contents:
            location = urljoin(location, contents["$ref"])
            contents = resolver.lookup(location).contents
        if not isinstance(contents, dict):
            return None
        if isinstance(part, int) and isinstance(contents.get("items"), dict):
            location, contents = f"{location}/items", contents["items"]
        elif isinstance(part, str) and part in contents.get("properties", {}):
            location, contents = f"{location}/properties/{_escape(part)}", contents["properties"][part]
        elif isinstance(part, str) and isinstance(contents.get("additionalProperties"), dict):
            location, contents = f"{location}/additionalProperties", contents["additionalProperties"]
        else:
            return None
    return jsonschema.Draft202012Validator({"$ref": location}, registry=registry)


def _escape(key: str) -> str:
    """A key as a JSON pointer token."""
    return key.replace("~", "~0").replace("/", "~1")
