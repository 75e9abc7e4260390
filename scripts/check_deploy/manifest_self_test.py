"""Self-test of the manifest rules: each mutation breaks a copy of the rendered manifests in memory
the way a pod would break, and the rules must reject it with a message that names the bad value.

A mutation applies to every rendered file that has its target resource. The self-test fails when
an unchanged file already has problems, when a mutation finds its target in no file, or when a
mutated file passes.
"""

import copy


def find(documents, kind, name):
    """Return the resource `kind`/`name`, matching a generated name by its prefix, or None."""
    for document in documents:
        resource_name = (document.get("metadata") or {}).get("name", "")
        if document.get("kind") == kind and (
            resource_name == name or resource_name.startswith(name + "-")
        ):
            return document
    return None


def container(documents, kind, name):
    workload = find(documents, kind, name)
    if workload is None:
        return None
    spec = workload["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else workload["spec"]
    return spec["template"]["spec"]["containers"][0]


def env_entry(entry_container, name):
    return next(variable for variable in entry_container["env"] if variable["name"] == name)


def rename_key(mapping, old, new):
    mapping[new] = mapping.pop(old)


def probe_names_other_service(documents):
    target = container(documents, "Deployment", "billing")
    if target is None:
        return False
    target["readinessProbe"]["grpc"]["service"] = "dk.banksync.v1.BankSyncService"
    return True


def probe_on_other_port(documents):
    target = container(documents, "Deployment", "banksync")
    if target is None:
        return False
    target["livenessProbe"]["grpc"]["port"] = 50062
    return True


def configmap_key_misspelt(documents):
    configmap = find(documents, "ConfigMap", "banksync-config")
    if configmap is None:
        return False
    rename_key(configmap["data"], "DK_BANKSYNC__GRPC__LISTEN", "DK_BANKSYNC__GRPC__LISTN")
    return True


def env_name_misspelt(documents):
    target = container(documents, "Deployment", "support")
    if target is None:
        return False
    env_entry(target, "DK_SUPPORT__DATABASE__MIGRATE_ON_START")[
        "name"
    ] = "DK_SUPPORT__DATABASE__MIGRATE_ON_STAR"
    return True


def env_name_one_underscore(documents):
    target = container(documents, "Job", "banksync-migrate")
    if target is None:
        return False
    target["env"].append({"name": "DK_BANKSYNC_GRPC__LISTEN", "value": "0.0.0.0:50061"})
    return True


def migrate_on_start_true(documents):
    target = container(documents, "Deployment", "bookkeeping")
    if target is None:
        return False
    env_entry(target, "DK_BOOKKEEPING__DATABASE__MIGRATE_ON_START")["value"] = "true"
    return True


def secret_unknown(documents):
    target = container(documents, "Deployment", "billing")
    if target is None:
        return False
    env_entry(target, "DK_BILLING__AUTH__TOKEN_SECRET")["valueFrom"]["secretKeyRef"][
        "name"
    ] = "dk-auht"
    return True


def configmap_ref_unknown(documents):
    target = container(documents, "Job", "support-migrate")
    if target is None:
        return False
    target["envFrom"][0]["configMapRef"]["name"] = "support-settings"
    return True


def service_selects_nothing(documents):
    service = find(documents, "Service", "bookkeeping")
    if service is None:
        return False
    service["spec"]["selector"]["app.kubernetes.io/component"] = "grpc-server"
    return True


def service_target_port_unknown(documents):
    service = find(documents, "Service", "support")
    if service is None:
        return False
    service["spec"]["ports"][0]["targetPort"] = 50065
    return True


def config_file_key_misspelt(documents):
    configmap = find(documents, "ConfigMap", "billing-issuer")
    if configmap is None:
        return False
    configmap["data"]["issuer.toml"] = configmap["data"]["issuer.toml"].replace(
        "\nname =", "\nnmae ="
    )
    return True


def cronjob_without_region(documents):
    cronjob = find(documents, "CronJob", "billing-backup")
    if (
        cronjob is None
        or "affinity" not in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    ):
        return False
    del cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["affinity"]
    return True


def database_in_other_region(documents):
    cluster = find(documents, "Cluster", "bookkeeping-db")
    if cluster is None or "affinity" not in cluster["spec"]:
        return False
    terms = cluster["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] = ["us-east1"]
    return True


# (description, mutation, text that one new problem must contain)
MUTATIONS = (
    (
        "billing's readiness probe names banksync's service",
        probe_names_other_service,
        "readinessProbe.grpc.service is 'dk.banksync.v1.BankSyncService'",
    ),
    (
        "banksync's liveness probe on bookkeeping's port",
        probe_on_other_port,
        "livenessProbe.grpc.port is 50062",
    ),
    ("misspelt key in banksync's ConfigMap", configmap_key_misspelt, "DK_BANKSYNC__GRPC__LISTN"),
    (
        "misspelt variable in support's env",
        env_name_misspelt,
        "DK_SUPPORT__DATABASE__MIGRATE_ON_STAR",
    ),
    (
        "variable with one underscore after the service",
        env_name_one_underscore,
        "DK_BANKSYNC_GRPC__LISTEN",
    ),
    ("MIGRATE_ON_START true in a Deployment", migrate_on_start_true, "MIGRATE_ON_START is 'true'"),
    ("secretKeyRef to an unknown Secret", secret_unknown, "Secret 'dk-auht'"),
    ("configMapRef to an unknown ConfigMap", configmap_ref_unknown, "ConfigMap 'support-settings'"),
    ("misspelt key in billing's DK_CONFIG_FILE", config_file_key_misspelt, "issuer.nmae"),
    ("Service selector that matches no pods", service_selects_nothing, "matches no pod template"),
    (
        "Service targetPort that no container declares",
        service_target_port_unknown,
        "targetPort 50065",
    ),
    (
        "backup CronJob without the region affinity",
        cronjob_without_region,
        "CronJob/billing-backup",
    ),
    ("database cluster in another region", database_in_other_region, "Cluster/bookkeeping-db"),
)


def run(files, project_problems):
    """Apply every mutation to each of `files` [(label, documents)]; return the failures.

    `project_problems(documents, label)` returns the rule violations of one file as strings.
    """
    failures = []
    for label, documents in files:
        baseline = project_problems(documents, label)
        for problem in baseline:
            failures.append(f"{label}: unchanged manifests already fail: {problem}")

    for description, mutate, expected in MUTATIONS:
        applied = 0
        for label, documents in files:
            mutated = copy.deepcopy(documents)
            if not mutate(mutated):
                continue
            applied += 1
            problems = project_problems(mutated, label)
            if not any(expected in problem for problem in problems):
                found = "; ".join(problems) or "no problem"
                expectation = f"expected a problem containing {expected!r}, got {found}"
                failures.append(f"{label}: {description}: {expectation}")
        if applied == 0:
            failures.append(f"{description}: the mutation found its target in none of the files")
    return failures
