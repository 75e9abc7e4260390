"""Validate rendered Kubernetes manifests offline.

Every resource is checked against the Kubernetes OpenAPI schemas that kubernetes-validate ships
(strict: unknown fields are errors), or, for the operators' kinds, against the hand-written JSON
schemas in k8s/schemas/. A kind that neither covers is an error, so nothing is skipped silently.
On top of the schemas, the rules of k8s/README.md that a schema cannot express are checked. Each
resource has its security contexts, resources on every container and gRPC probes. The resources
of one file also meet the rules of manifest_rules.py: settings, references, selectors, region.

Usage: validate_manifests.py --schemas DIR --kubernetes-version X.Y [...] FILE[=LABEL]...
       validate_manifests.py --self-test FILE[=LABEL]...
LABEL names the file in messages. When LABEL is an overlay folder with a data-region.yaml, such as
k8s/overlays/prod, the file must keep its pods and volumes in that region.
Exits 1 and prints one line per problem, naming the file and the resource. With --self-test, it
breaks copies of the files in memory (manifest_self_test.py) and exits 1 if a rule misses one.
"""

import argparse
import importlib.resources
import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import referencing
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

import manifest_rules
import manifest_self_test
import service_settings
from manifest_rules import POD_SPEC_PATHS, field_at

# Placeholders of the prod overlay and the restore template, none of which may survive rendering.
PLACEHOLDERS = ("set-by-data-region", "__SERVICE__")


def load_custom_schemas(directory):
    """Map (apiVersion, kind) to each schema in `directory`, read from its const values."""
    schemas = {}
    for path in sorted(pathlib.Path(directory).glob("*.json")):
        schema = json.loads(path.read_text())
        properties = schema.get("properties", {})
        try:
            key = (properties["apiVersion"]["const"], properties["kind"]["const"])
        except KeyError:
            raise SystemExit(f"{path}: schema needs const values for apiVersion and kind")
        schemas[key] = (path.name, schema)
    return schemas


def kubernetes_definitions(version):
    """Return the strict core definitions bundled for `version` (major.minor), for $ref."""
    folder = f"v{version}.0-local-strict"
    resource = importlib.resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", folder, "_definitions.json"
    )
    if not resource.is_file():
        raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {version}")
    return json.loads(resource.read_text())


def validate_custom(document, schema, definitions):
    """Return the error messages of `document` against a hand-written schema."""
    registry = referencing.Registry().with_resource(
        definitions["$id"], referencing.Resource.from_contents(definitions)
    )
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    messages = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
        location = ".".join(str(part) for part in error.path) or "(top level)"
        messages.append(f"{location}: {error.message}")
    return messages


def check_pod_spec(pod_spec, kind):
    """Return the violations of the security and resource rules in one pod spec."""
    problems = []
    if pod_spec.get("automountServiceAccountToken") is not False:
        problems.append("pod: automountServiceAccountToken must be false")
    security = pod_spec.get("securityContext") or {}
    if security.get("runAsNonRoot") is not True:
        problems.append("pod: securityContext.runAsNonRoot must be true")
    for field in ("runAsUser", "runAsGroup"):
        if not isinstance(security.get(field), int) or security.get(field) == 0:
            problems.append(f"pod: securityContext.{field} must be a non-zero number")
    if (security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append("pod: securityContext.seccompProfile.type must be RuntimeDefault")

    containers = pod_spec.get("initContainers", []) + pod_spec.get("containers", [])
    for container in containers:
        name = container.get("name", "?")
        resources = container.get("resources") or {}
        for bound in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in (resources.get(bound) or {}):
                    problems.append(f"container {name}: resources.{bound}.{resource} is missing")
        context = container.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"container {name}: allowPrivilegeEscalation must be false")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"container {name}: readOnlyRootFilesystem must be true")
        if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
            problems.append(f"container {name}: capabilities.drop must contain ALL")
        if context.get("runAsNonRoot") is False:
            problems.append(f"container {name}: runAsNonRoot must not be false")
        if (context.get("seccompProfile") or {}).get("type", "RuntimeDefault") != "RuntimeDefault":
            problems.append(f"container {name}: seccompProfile.type must be RuntimeDefault")
        if kind == "Deployment":
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                grpc = (container.get(probe) or {}).get("grpc") or {}
                if not grpc.get("service"):
                    problems.append(f"container {name}: {probe} must be a gRPC probe naming the service")
    return problems


def check_document(document, versions, custom_schemas, definitions_by_version):
    """Return the problems of one resource."""
    problems = []
    text = json.dumps(document)
    for placeholder in PLACEHOLDERS:
        if placeholder in text:
            problems.append(f"placeholder {placeholder!r} was not replaced")

    key = (document.get("apiVersion"), document.get("kind"))
    for version in versions:
        if key in custom_schemas:
            schema_name, schema = custom_schemas[key]
            for message in validate_custom(document, schema, definitions_by_version[version]):
                problems.append(f"Kubernetes {version}, k8s/schemas/{schema_name}: {message}")
            continue
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            location = ".".join(str(part) for part in error.path) or "(top level)"
            problems.append(f"Kubernetes {version} (strict): {location}: {error.message}")
        except SchemaNotFoundError:
            problems.append(
                f"unknown kind {key[1]} ({key[0]}): not in the Kubernetes {version} schemas and "
                "no schema in k8s/schemas/ covers it"
            )

    path = POD_SPEC_PATHS.get(document.get("kind"))
    if path:
        pod_spec = field_at(document, path)
        if pod_spec is None:
            problems.append("no pod spec found")
        else:
            problems.extend(check_pod_spec(pod_spec, document["kind"]))
    return problems


def read_files(entries):
    """Return [(label, documents)] for FILE or FILE=LABEL entries."""
    files = []
    for entry in entries:
        path, _, label = entry.partition("=")
        with open(path) as stream:
            documents = [document for document in yaml.safe_load_all(stream) if document]
        files.append((label or path, documents))
    return files


def project_problems(documents, label):
    """Return the problems that the project's rules find in one file, without the schemas."""
    problems = []
    for document in documents:
        path = POD_SPEC_PATHS.get(document.get("kind"))
        pod_spec = field_at(document, path) if path else None
        if pod_spec is not None:
            resource = manifest_rules.resource_name(document)
            for problem in check_pod_spec(pod_spec, document["kind"]):
                problems.append(f"{resource}: {problem}")
    for resource, problem in manifest_rules.check_overlay(documents, label):
        problems.append(f"{resource}: {problem}")
    return problems


def self_test(files):
    """Run the mutations of manifest_self_test.py on `files`; return the exit status."""
    failures = [f"settings sources: {problem}" for problem in service_settings.source_problems()]
    failures += manifest_self_test.run(files, project_problems)
    for failure in failures:
        print(f"SELF-TEST FAILED {failure}")
    if failures:
        return 1
    labels = ", ".join(label for label, _ in files)
    count = len(manifest_self_test.MUTATIONS)
    print(f"self-test: the rules rejected all {count} mutations of {labels}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", help="folder of the operators' JSON schemas")
    parser.add_argument(
        "--kubernetes-version", action="append", dest="versions",
        help="Kubernetes version (major.minor) to validate against, repeated for several",
    )
    parser.add_argument(
        "--self-test", action="store_true",
        help="break copies of the files in memory and check that the rules reject each breakage",
    )
    parser.add_argument("files", nargs="+", help="rendered manifests, each FILE or FILE=LABEL to name it LABEL in messages")
    arguments = parser.parse_args()

    files = read_files(arguments.files)
    if arguments.self_test:
        return self_test(files)
    if not arguments.schemas or not arguments.versions:
        parser.error("--schemas and --kubernetes-version are required unless --self-test is given")

    custom_schemas = load_custom_schemas(arguments.schemas)
    definitions = {version: kubernetes_definitions(version) for version in arguments.versions}

    failures = 0
    checked = 0
    for label, documents in files:
        if not documents:
            print(f"ERROR {label}: no resources")
            failures += 1
        for document in documents:
            checked += 1
            resource = manifest_rules.resource_name(document)
            for problem in check_document(document, arguments.versions, custom_schemas, definitions):
                print(f"ERROR {label}: {resource}: {problem}")
                failures += 1
        for resource, problem in manifest_rules.check_overlay(documents, label):
            print(f"ERROR {label}: {resource}: {problem}")
            failures += 1

    versions = ", ".join(arguments.versions)
    if failures:
        print(f"{failures} problems in {checked} resources (Kubernetes {versions})")
        return 1
    print(
        f"{checked} resources valid against Kubernetes {versions}, k8s/schemas/ and the rules of "
        "manifest_rules.py"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
