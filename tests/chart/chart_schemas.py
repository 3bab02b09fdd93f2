"""JSON schemas kubeconform validates the rendered chart against, built from pinned sources.

- Core Kubernetes objects: the strict schemas of one Kubernetes version shipped in the
  ``kubernetes-validate`` wheel (installed into .tools by ``make tools``). They reference a shared
  ``/api/_definitions.json``; kubeconform needs standalone files, so every ``$ref`` is inlined.
- Custom resources: the ``openAPIV3Schema`` of each CRD version in ../shared/crds (the operator
  versions we pin), turned into JSON schema. Strict on purpose: every object that lists its
  properties and does not carry ``x-kubernetes-preserve-unknown-fields`` gets
  ``additionalProperties: false``, so an unknown or misspelled field fails the test, as the API
  server's structural-schema pruning would silently drop it.

Files are named for kubeconform's ``-schema-location`` templates (see ``CORE_TEMPLATE`` and
``CRD_TEMPLATE``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

CORE_TEMPLATE = "{{ .ResourceKind }}{{ .KindSuffix }}.json"
CRD_TEMPLATE = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
# The files point into the shared definitions; the definitions point at each other.
_DEFS_REFS = ("/api/_definitions.json#/$defs/", "#/$defs/")


def core_schema_file(kind: str, api_version: str) -> str:
    """File name kubeconform derives for a core kind (e.g. ``job-batch-v1.json``)."""
    group, _, version = api_version.rpartition("/")
    suffix = f"-{group.split('.')[0].lower()}-{version}" if group else f"-{version}"
    return f"{kind.lower()}{suffix}.json"


def _inline(node: Any, defs: dict[str, Any], stack: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        prefix = next((p for p in _DEFS_REFS if isinstance(ref, str) and ref.startswith(p)), None)
        if prefix is not None:
            name = ref[len(prefix) :]
            if name in stack:
                # Only self-referencing API types (JSONSchemaProps) recurse; none of them is
                # rendered by the chart, so the cycle is cut open rather than expanded forever.
                return {}
            resolved = _inline(defs[name], defs, (*stack, name))
            siblings = {k: _inline(v, defs, stack) for k, v in node.items() if k != "$ref"}
            return {**resolved, **siblings} if siblings else resolved
        return {k: _inline(v, defs, stack) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs, stack) for item in node]
    return node


def write_core_schemas(source_dir: Path, target_dir: Path, files: set[str]) -> None:
    """Standalone copies of the named strict schema files of one Kubernetes version."""
    defs = json.loads((source_dir / "_definitions.json").read_text())["$defs"]
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in sorted(files):
        source = source_dir / name
        if not source.exists():
            raise FileNotFoundError(f"no Kubernetes schema {name} in {source_dir}")
        schema = _inline(json.loads(source.read_text()), defs, ())
        (target_dir / name).write_text(json.dumps(schema))


def _strict(node: Any) -> Any:
    """openAPIV3Schema (structural) -> JSON schema that rejects fields the CRD does not declare."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _strict(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_strict(sub) for sub in value]
        else:
            out[key] = copy.deepcopy(value)
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [*out.get("anyOf", []), {"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def crd_documents(crd_root: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(crd_root.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                docs.append(doc)
    return docs


def write_crd_schemas(crd_root: Path, target_dir: Path) -> dict[tuple[str, str], Path]:
    """One JSON schema per served CRD version; returns {(apiVersion, kind): file}."""
    written: dict[tuple[str, str], Path] = {}
    for crd in crd_documents(crd_root):
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served", False):
                continue
            schema = _strict(version["schema"]["openAPIV3Schema"])
            schema.setdefault("properties", {})
            schema["properties"]["apiVersion"] = {"enum": [f"{group}/{version['name']}"]}
            schema["properties"]["kind"] = {"enum": [kind]}
            # metadata is validated by the API server's ObjectMeta, not by the CRD schema.
            schema["properties"]["metadata"] = {"type": "object"}
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
            schema["additionalProperties"] = False
            target = target_dir / group / f"{kind.lower()}_{version['name']}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(schema))
            written[(f"{group}/{version['name']}", kind)] = target
    return written
