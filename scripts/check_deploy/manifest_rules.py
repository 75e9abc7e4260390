"""Rules that span the resources of one rendered overlay, which no schema can express.

- Each service container gets only settings that its service accepts. In a Deployment, it probes
  its own gRPC service and port, listens where the probes reach it, and leaves the migrations to
  the migration Job (MIGRATE_ON_START "false").
- Every Secret and ConfigMap that a pod refers to is in the overlay or in EXTERNAL_SECRETS.
- Every Service selects pods of the overlay on a port that they declare. Every
  PodDisruptionBudget selects pods, and every HorizontalPodAutoscaler scales a resource of the
  overlay.
- An overlay folder with a data-region.yaml pins every workload and every database and broker
  cluster to that region and its StorageClass.
"""

import pathlib
import tomllib

import yaml

import service_settings
from service_settings import SERVICES

# Path of the pod spec in each workload kind.
POD_SPEC_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}

# Secrets that pods may refer to although no overlay creates them. CloudNativePG creates
# <service>-db-app for each Cluster <service>-db, and the RabbitMQ Cluster Operator creates
# rabbitmq-default-user. dk-auth and banksync-bank-link are created by hand before the first apply
# of prod (dev generates them). k8s/README.md (Secrets) lists the same names.
EXTERNAL_SECRETS = frozenset(
    [f"{service}-db-app" for service in SERVICES]
    + ["rabbitmq-default-user", "dk-auth", "banksync-bank-link"]
)

# Kinds whose pods an operator creates, and the labels of those pods. The RabbitMQ Cluster
# Operator labels its broker pods with the cluster's name (internal/metadata/label.go of the
# operator), and CloudNativePG labels each instance with cnpg.io/cluster.
OPERATOR_POD_LABELS = {
    ("rabbitmq.com", "RabbitmqCluster"): lambda name: {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "rabbitmq",
    },
    ("postgresql.cnpg.io", "Cluster"): lambda name: {"cnpg.io/cluster": name},
}

REGION_KEY = "topology.kubernetes.io/region"

# Path of the StorageClass field under spec, for each kind with volumes.
STORAGE_CLASS_PATHS = {
    ("postgresql.cnpg.io", "Cluster"): ("storage", "storageClass"),
    ("rabbitmq.com", "RabbitmqCluster"): ("persistence", "storageClassName"),
    ("", "PersistentVolumeClaim"): ("storageClassName",),
}
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def field_at(document, path):
    """Return the value at `path` (a sequence of keys) in `document`, or None."""
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def api_group(document):
    """Return the API group of a resource: "" for the core group (apiVersion v1)."""
    api_version = document.get("apiVersion") or ""
    return api_version.split("/")[0] if "/" in api_version else ""


def resource_name(document):
    return f"{document.get('kind', '?')}/{(document.get('metadata') or {}).get('name', '?')}"


def selector_matches(selector, labels):
    """Return whether a label selector (matchLabels and matchExpressions) selects `labels`."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


class PodTemplate:
    """The pod spec and labels of one workload."""

    def __init__(self, document, path):
        self.owner = resource_name(document)
        self.kind = document["kind"]
        self.spec = field_at(document, path) or {}
        self.labels = field_at(document, path[:-1] + ("metadata", "labels")) or {}

    def containers(self):
        return (self.spec.get("initContainers") or []) + (self.spec.get("containers") or [])


class Overlay:
    """The resources of one rendered file, indexed for the cross-resource rules."""

    def __init__(self, documents, label):
        self.documents = documents
        self.label = label
        self.names = {}
        for document in documents:
            kind = document.get("kind")
            name = (document.get("metadata") or {}).get("name")
            self.names.setdefault(kind, {})[name] = document
        self.templates = [
            PodTemplate(document, POD_SPEC_PATHS[document.get("kind")])
            for document in documents
            if document.get("kind") in POD_SPEC_PATHS
        ]

    def get(self, kind, name):
        return self.names.get(kind, {}).get(name)

    def operator_pod_labels(self):
        labels = []
        for document in self.documents:
            make = OPERATOR_POD_LABELS.get((api_group(document), document.get("kind")))
            if make:
                labels.append((resource_name(document), make(document["metadata"]["name"])))
        return labels


def check_overlay(documents, label):
    """Return (resource, problem) for every cross-resource rule that `documents` break."""
    overlay = Overlay(documents, label)
    problems = []
    for document in documents:
        if document.get("kind") == "ConfigMap":
            problems += [(resource_name(document), p) for p in configmap_problems(document)]
    for template in overlay.templates:
        problems += [(template.owner, p) for p in reference_problems(overlay, template)]
        problems += [(template.owner, p) for p in service_container_problems(overlay, template)]
    problems += selector_problems(overlay)
    problems += region_problems(overlay)
    return problems


def configmap_problems(configmap):
    """Return the setting variables of a ConfigMap that no service accepts."""
    problems = []
    for key in sorted((configmap.get("data") or {})):
        problem = service_settings.variable_problem(key)
        if problem:
            problems.append(f"data: {problem}")
    return problems


def references(template):
    """Yield (kind, name, key, optional, where) for every Secret and ConfigMap a pod refers to."""
    for container in template.containers():
        where = f"container {container.get('name', '?')}"
        for variable in container.get("env") or []:
            source = variable.get("valueFrom") or {}
            for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                if field in source:
                    ref = source[field]
                    variable_where = f"{where}, env {variable.get('name')}"
                    yield kind, ref.get("name"), ref.get("key"), ref.get("optional"), variable_where
        for source in container.get("envFrom") or []:
            for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                if field in source:
                    ref = source[field]
                    yield kind, ref.get("name"), None, ref.get("optional"), f"{where}, envFrom"
    for volume in template.spec.get("volumes") or []:
        where = f"volume {volume.get('name', '?')}"
        if "secret" in volume:
            secret = volume["secret"]
            yield "Secret", secret.get("secretName"), None, secret.get("optional"), where
        if "configMap" in volume:
            configmap = volume["configMap"]
            yield "ConfigMap", configmap.get("name"), None, configmap.get("optional"), where
        for source in (volume.get("projected") or {}).get("sources") or []:
            for field, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                if field in source:
                    ref = source[field]
                    yield kind, ref.get("name"), None, ref.get("optional"), where
    for secret in template.spec.get("imagePullSecrets") or []:
        yield "Secret", secret.get("name"), None, False, "imagePullSecrets"


def reference_problems(overlay, template):
    problems = []
    for kind, name, key, optional, where in references(template):
        if optional:
            continue
        resource = overlay.get(kind, name)
        if resource is None:
            if kind == "Secret" and name in EXTERNAL_SECRETS:
                continue
            if kind == "Secret":
                missing = "is neither in this overlay nor in EXTERNAL_SECRETS of manifest_rules.py"
            else:
                missing = "is not in this overlay"
            problems.append(f"{where}: {kind} {name!r} {missing}, so the pod cannot start")
            continue
        keys = (
            set(resource.get("data") or {})
            | set(resource.get("stringData") or {})
            | set(resource.get("binaryData") or {})
        )
        if key is not None and key not in keys:
            problems.append(
                f"{where}: {kind} {name} has no key {key!r} (it has {', '.join(sorted(keys))})"
            )
    return problems


def effective_environment(overlay, container):
    """Return {name: (value or None, from ConfigMap)}, env overriding envFrom as in Kubernetes."""
    environment = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        configmap = overlay.get("ConfigMap", ref.get("name")) if ref else None
        for key, value in ((configmap or {}).get("data") or {}).items():
            environment[source.get("prefix", "") + key] = (value, True)
    for variable in container.get("env") or []:
        environment[variable.get("name", "")] = (variable.get("value"), False)
    return environment


def service_container_problems(overlay, template):
    """Return the problems of the containers that run one of the services."""
    problems = []
    for container in template.containers():
        service = service_settings.service_of_image(container.get("image"))
        if service is None:
            continue
        where = f"container {container.get('name', '?')} ({service})"
        environment = effective_environment(overlay, container)
        server = template.kind == "Deployment"

        for name, (value, from_configmap) in sorted(environment.items()):
            # A ConfigMap key that no service accepts is reported once, at the ConfigMap.
            if from_configmap and service_settings.variable_problem(name):
                continue
            problem = service_settings.variable_problem(name, service)
            problem = problem or service_settings.value_problem(name, value, listens=server)
            if problem:
                problems.append(f"{where}: {problem}")

        if server:
            problems += server_problems(where, SERVICES[service], container, environment)
        problems += config_file_problems(overlay, template, where, service, container, environment)
    return problems


def server_problems(where, service, container, environment):
    """Return the problems of a service's Deployment container: port, probes and settings."""
    problems = []
    ports = {port.get("name"): port.get("containerPort") for port in container.get("ports") or []}
    if ports.get("grpc") != service.port:
        problems.append(
            f"{where}: the port named grpc is {ports.get('grpc')}, expected {service.port}, "
            f"the port of grpc.listen in services/{service.name}/src/defaults.toml"
        )
    for probe in PROBES:
        grpc = (container.get(probe) or {}).get("grpc") or {}
        if grpc.get("service") != service.grpc_service:
            problems.append(
                f"{where}: {probe}.grpc.service is {grpc.get('service')!r}, expected "
                f"{service.grpc_service!r}, the health service that {service.name} reports"
            )
        if grpc.get("port") != service.port:
            problems.append(
                f"{where}: {probe}.grpc.port is {grpc.get('port')}, expected {service.port}, "
                f"the gRPC port of {service.name}"
            )

    migrate = f"{service.prefix}DATABASE__MIGRATE_ON_START"
    value = environment.get(migrate, (None, False))[0]
    if value != "false":
        state = "missing" if migrate not in environment else f"{value!r}"
        problems.append(
            f'{where}: {migrate} is {state}, expected "false", so that only the migration Job '
            "migrates the database (k8s/README.md, Migration order)"
        )
    listen = f"{service.prefix}GRPC__LISTEN"
    if listen not in environment:
        problems.append(
            f"{where}: {listen} is missing, so the service listens on 127.0.0.1 (its default), "
            "where the probes and the Service cannot reach it"
        )
    return problems


def config_file_problems(overlay, template, where, service, container, environment):
    """Check that the file of DK_CONFIG_FILE is mounted from a ConfigMap and has only settings."""
    path = environment.get("DK_CONFIG_FILE", (None, False))[0]
    if not path:
        return []
    file = pathlib.PurePosixPath(path)
    volumes = {volume.get("name"): volume for volume in template.spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        mount_path = pathlib.PurePosixPath(mount.get("mountPath", "/"))
        if mount.get("subPath"):
            if mount_path != file:
                continue
            key_path = mount["subPath"]
        elif mount_path in file.parents:
            key_path = str(file.relative_to(mount_path))
        else:
            continue
        volume = volumes.get(mount.get("name")) or {}
        if "configMap" not in volume:
            return []  # a Secret or another volume: its content is not in the overlay
        configmap = overlay.get("ConfigMap", volume["configMap"].get("name"))
        if configmap is None:
            return []  # reported as a missing reference
        items = {item["path"]: item["key"] for item in volume["configMap"].get("items") or []}
        key = items.get(key_path) if items else key_path
        text = (configmap.get("data") or {}).get(key)
        if text is None:
            name = configmap["metadata"]["name"]
            return [f"{where}: DK_CONFIG_FILE is {path}, but ConfigMap {name} has no key {key!r}"]
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            return [f"{where}: DK_CONFIG_FILE {path} is not valid TOML: {error}"]
        return [
            f"{where}: DK_CONFIG_FILE {path}: {problem}"
            for problem in service_settings.toml_problems(service, table)
        ]
    return [
        f"{where}: DK_CONFIG_FILE is {path}, but no volume is mounted there, so {service} stops"
    ]


def selector_problems(overlay):
    """Check the selectors of Services, PodDisruptionBudgets and autoscalers against the overlay."""
    problems = []
    for document in overlay.documents:
        resource = resource_name(document)
        spec = document.get("spec") or {}
        if document.get("kind") == "Service":
            problems += [(resource, problem) for problem in service_problems(overlay, spec)]
        if document.get("kind") == "PodDisruptionBudget":
            selector = spec.get("selector") or {}
            pod_labels = [template.labels for template in overlay.templates]
            pod_labels += [labels for _, labels in overlay.operator_pod_labels()]
            if not any(selector_matches(selector, labels) for labels in pod_labels):
                problems.append((resource, f"selector {selector} matches no pods of this overlay"))
        if document.get("kind") == "HorizontalPodAutoscaler":
            target = spec.get("scaleTargetRef") or {}
            if overlay.get(target.get("kind"), target.get("name")) is None:
                target_name = f"{target.get('kind')}/{target.get('name')}"
                problems.append((resource, f"scaleTargetRef {target_name} is not in this overlay"))
    return problems


def service_problems(overlay, spec):
    """Check that a Service selects pod templates of the overlay that declare its target ports."""
    if not spec.get("selector"):
        return []
    selector = {"matchLabels": spec["selector"]}
    selected = [t for t in overlay.templates if selector_matches(selector, t.labels)]
    if not selected:
        return [f"selector {spec['selector']} matches no pod template in this overlay"]
    problems = []
    for port in spec.get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        for template in selected:
            if not declares_port(template, target):
                problems.append(
                    f"port {port.get('name', port.get('port'))}: targetPort {target!r} is not a "
                    f"container port of {template.owner}, which the selector matches"
                )
    return problems


def declares_port(template, target):
    for container in template.spec.get("containers") or []:
        for port in container.get("ports") or []:
            if target in (port.get("name"), port.get("containerPort")):
                return True
    return False


def data_region(label):
    """Return the data-region.yaml values of the overlay folder `label`, or None if it has none."""
    folder = pathlib.Path(label)
    if not folder.is_absolute():
        folder = service_settings.REPO_ROOT / folder
    path = folder / "data-region.yaml"
    if not path.is_file():
        return None
    with open(path) as stream:
        return yaml.safe_load(stream)["data"]


def pins_region(affinity, region):
    """Return whether every required node selector term of `affinity` demands `region`."""
    required = field_at(
        affinity or {}, ("nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    )
    terms = (required or {}).get("nodeSelectorTerms") or []
    expected = {"key": REGION_KEY, "operator": "In", "values": [region]}
    return bool(terms) and all(expected in (term.get("matchExpressions") or []) for term in terms)


def region_problems(overlay):
    """Check that an overlay with a data-region.yaml keeps every pod and volume in the region."""
    values = data_region(overlay.label)
    if values is None:
        return []
    region, storage_class = values["region"], values["storageClass"]
    requirement = f"a required node affinity {REGION_KEY} In [{region}] (data-region.yaml)"
    problems = []
    for template in overlay.templates:
        if template.kind != "Pod" and not pins_region(template.spec.get("affinity"), region):
            problems.append((template.owner, f"pod spec lacks {requirement}"))
    for document in overlay.documents:
        key = (api_group(document), document.get("kind"))
        spec = document.get("spec") or {}
        resource = resource_name(document)
        if key in OPERATOR_POD_LABELS and not pins_region(spec.get("affinity"), region):
            problems.append((resource, f"spec.affinity lacks {requirement}"))
        path = STORAGE_CLASS_PATHS.get(key)
        if path and field_at(spec, path) != storage_class:
            found = field_at(spec, path)
            expected = f"expected {storage_class!r} (data-region.yaml)"
            problems.append((resource, f"spec.{'.'.join(path)} is {found!r}, {expected}"))
    return problems
