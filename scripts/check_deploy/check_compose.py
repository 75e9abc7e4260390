"""Check the parts of deploy/compose.yaml that the compose specification does not cover.

`docker-compose config` (run by scripts/check-deploy.sh) already checks the file against the
compose specification and resolves every service, volume and network reference. This adds the
project's own expectations: each service has its migration step, its settings and its
hardening, and every dependency that waits for health waits on a healthcheck. Every DK_ variable
is a setting that its service accepts (service_settings.py, shared with the Kubernetes check),
and each service and its migration step use the same database, one that the PostgreSQL init
scripts create and that no other service uses.

Usage: check_compose.py COMPOSE_FILE
       check_compose.py --self-test COMPOSE_FILE
Exits 1 and prints one line per problem, naming the file and the service. With --self-test, it
breaks copies of the file in memory and exits 1 if a rule misses one.
"""

import copy
import pathlib
import re
import sys
import urllib.parse

import yaml

import service_settings

# gRPC port of each service, as in services/<name>/src/defaults.toml.
SERVICES = {name: service.port for name, service in service_settings.SERVICES.items()}

# Folder whose scripts the postgres image runs when it initialises an empty data volume.
INIT_FOLDER = "/docker-entrypoint-initdb.d/"


def environment_of(service):
    """Return a service's environment as a dict, from either of the two compose forms."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(entry.partition("=")[::2] for entry in environment)
    return environment


def created_databases(compose, base_dir):
    """Return the databases that the SQL init scripts bind-mounted into any service create."""
    databases = set()
    for service in (compose.get("services") or {}).values():
        for mount in service.get("volumes") or []:
            if not isinstance(mount, str):
                continue
            source, _, target = mount.partition(":")
            script = base_dir / source
            if target.startswith(INIT_FOLDER) and source.endswith(".sql") and script.is_file():
                pattern = r'^\s*CREATE\s+DATABASE\s+"?(\w+)"?'
                flags = re.IGNORECASE | re.MULTILINE
                databases |= set(re.findall(pattern, script.read_text(), flags))
    return databases


def url_problems(name, key, url, services):
    """Return the problems of a URL setting whose host must be a service of the stack."""
    host = urllib.parse.urlsplit(str(url)).hostname
    if host not in services:
        return [(name, f"environment {key} names host {host!r}, which is no service of this file")]
    return []


def database_problems(compose, base_dir):
    """Yield (service, problem) for database URLs that miss the databases of the init scripts."""
    services = compose.get("services") or {}
    created = created_databases(compose, base_dir)
    if not created:
        yield "postgres", f"no SQL script mounted into {INIT_FOLDER} creates a database"
    owners = {}
    for name in SERVICES:
        key = f"{service_settings.SERVICES[name].prefix}DATABASE__URL"
        databases = {}
        for candidate in (name, f"{name}-migrate"):
            url = environment_of(services.get(candidate) or {}).get(key)
            if not url:
                continue
            yield from url_problems(candidate, key, url, services)
            database = urllib.parse.urlsplit(str(url)).path.lstrip("/")
            databases[candidate] = database
            if database not in created:
                yield candidate, (
                    f"environment {key} names database {database!r}, which the init scripts do not "
                    f"create (they create {', '.join(sorted(created))})"
                )
        if len(set(databases.values())) > 1:
            yield f"{name}-migrate", (
                f"migrates database {databases.get(f'{name}-migrate')!r}, but {name} uses "
                f"{databases.get(name)!r}, so {name} finds its migrations pending and stops"
            )
        database = databases.get(name)
        if database in owners:
            yield name, f"uses database {database!r} of {owners[database]}, but each needs its own"
        owners.setdefault(database, name)


def settings_problems(compose):
    """Yield (service, problem) for DK_ variables that the service ignores or rejects."""
    services = compose.get("services") or {}
    for name in SERVICES:
        for candidate in (name, f"{name}-migrate"):
            environment = environment_of(services.get(candidate) or {})
            for key, value in sorted(environment.items()):
                text = None if value is None else str(value)
                problem = service_settings.variable_problem(key, name)
                problem = problem or service_settings.value_problem(key, text)
                if problem:
                    yield candidate, f"environment: {problem}"
            prefix = service_settings.SERVICES[name].prefix
            amqp_url = environment.get(f"{prefix}MESSAGING__AMQP_URL")
            if amqp_url:
                yield from url_problems(candidate, "MESSAGING__AMQP_URL", amqp_url, services)


def check(compose, base_dir):
    """Yield (service, problem) for every rule that `compose` breaks."""
    services = compose.get("services") or {}
    volumes = compose.get("volumes") or {}
    networks = compose.get("networks") or {}
    yield from database_problems(compose, base_dir)
    yield from settings_problems(compose)

    for name, service in services.items():
        for network in service.get("networks") or []:
            if network not in networks:
                yield name, f"network {network!r} is not declared under networks"
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source", "")
            if source.startswith((".", "/")):
                if not (base_dir / source).exists():
                    yield name, f"bind mount source {source} does not exist"
            elif source not in volumes:
                yield name, f"volume {source!r} is not declared under volumes"
        for dependency, condition in (service.get("depends_on") or {}).items():
            if dependency not in services:
                yield name, f"depends on undefined service {dependency!r}"
                continue
            condition = (condition or {}).get("condition")
            if condition == "service_healthy" and "healthcheck" not in services[dependency]:
                yield name, f"waits for {dependency} to be healthy, but {dependency} has no healthcheck"

    for name, port in SERVICES.items():
        prefix = f"DK_{name.upper()}__"
        migrate_name = f"{name}-migrate"
        service = services.get(name)
        migrate = services.get(migrate_name)
        if service is None:
            yield name, "service is missing"
            continue
        if migrate is None:
            yield migrate_name, "migration service is missing"
        else:
            if migrate.get("command") != ["migrate"]:
                yield migrate_name, 'command must be ["migrate"]'
            if migrate.get("image") != service.get("image"):
                yield migrate_name, f"image must be the image of {name}"
            if f"{prefix}DATABASE__URL" not in environment_of(migrate):
                yield migrate_name, f"environment lacks {prefix}DATABASE__URL"
        condition = ((service.get("depends_on") or {}).get(migrate_name) or {}).get("condition")
        if condition != "service_completed_successfully":
            yield name, f"must depend on {migrate_name} with condition service_completed_successfully"

        build = service.get("build") or {}
        dockerfile = base_dir / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
        if not dockerfile.is_file():
            yield name, f"build.dockerfile {dockerfile} does not exist"

        environment = environment_of(service)
        expected = {
            f"{prefix}GRPC__LISTEN": f"0.0.0.0:{port}",
            f"{prefix}DATABASE__MIGRATE_ON_START": "false",
        }
        for key, value in expected.items():
            if str(environment.get(key)) != value:
                yield name, f"environment {key} must be {value!r}"
        for key in ("DATABASE__URL", "MESSAGING__AMQP_URL", "TELEMETRY__OTLP_ENDPOINT"):
            if not environment.get(prefix + key):
                yield name, f"environment lacks {prefix}{key}"
        if f"127.0.0.1:{port}:{port}" not in (service.get("ports") or []):
            yield name, f"must publish 127.0.0.1:{port}:{port}"

        for candidate in (name, migrate_name):
            settings = services.get(candidate) or {}
            if settings.get("read_only") is not True:
                yield candidate, "read_only must be true"
            if not str(settings.get("user", "")).split(":")[0].isdigit():
                yield candidate, "user must be a numeric uid:gid"
            if "ALL" not in (settings.get("cap_drop") or []):
                yield candidate, "cap_drop must contain ALL"


def set_environment(compose, service, key, value):
    environment = compose["services"][service]["environment"]
    environment[key] = value


def rename_environment(compose, service, old, new):
    environment = compose["services"][service]["environment"]
    environment[new] = environment.pop(old)


# (description, mutation, text that one new problem must contain)
MUTATIONS = (
    (
        "misspelt database in banksync's URL",
        lambda compose: set_environment(
            compose, "banksync", "DK_BANKSYNC__DATABASE__URL",
            "postgres://dk:dk-development-password@postgres:5432/dk_bankysnc",
        ),
        "'dk_bankysnc'",
    ),
    (
        "billing's migration step on bookkeeping's database",
        lambda compose: set_environment(
            compose, "billing-migrate", "DK_BILLING__DATABASE__URL",
            "postgres://dk:dk-development-password@postgres:5432/dk_bookkeeping",
        ),
        "billing finds its migrations pending",
    ),
    (
        "misspelt setting variable",
        lambda compose: rename_environment(
            compose, "support", "DK_SUPPORT__TELEMETRY__FORMAT", "DK_SUPPORT__TELEMETRY__FORMATT"
        ),
        "DK_SUPPORT__TELEMETRY__FORMATT",
    ),
    (
        "variable with one underscore after the service",
        lambda compose: rename_environment(
            compose,
            "bookkeeping",
            "DK_BOOKKEEPING__TELEMETRY__FORMAT",
            "DK_BOOKKEEPING_TELEMETRY__FORMAT",
        ),
        "DK_BOOKKEEPING_TELEMETRY__FORMAT",
    ),
    (
        "AMQP host that is no service",
        lambda compose: set_environment(
            compose, "billing", "DK_BILLING__MESSAGING__AMQP_URL", "amqp://dk:dk@rabbit:5672/%2f"
        ),
        "'rabbit'",
    ),
)


def self_test(compose, base_dir):
    """Apply every mutation to a copy of `compose`; return the failures."""
    failures = [
        f"unchanged file already fails: {service}: {problem}"
        for service, problem in check(compose, base_dir)
    ]
    for description, mutate, expected in MUTATIONS:
        mutated = copy.deepcopy(compose)
        mutate(mutated)
        problems = [f"{service}: {problem}" for service, problem in check(mutated, base_dir)]
        if not any(expected in problem for problem in problems):
            found = "; ".join(problems) or "no problem"
            expectation = f"expected a problem containing {expected!r}, got {found}"
            failures.append(f"{description}: {expectation}")
    return failures


def main():
    arguments = sys.argv[1:]
    testing = arguments[:1] == ["--self-test"]
    if testing:
        arguments = arguments[1:]
    if len(arguments) != 1:
        raise SystemExit(__doc__)
    path = pathlib.Path(arguments[0])
    with open(path) as stream:
        compose = yaml.safe_load(stream)
    if testing:
        failures = self_test(compose, path.parent)
        for failure in failures:
            print(f"SELF-TEST FAILED {path}: {failure}")
        if failures:
            return 1
        print(f"self-test: the compose rules rejected all {len(MUTATIONS)} mutations of {path}")
        return 0
    problems = list(check(compose, path.parent))
    for service, problem in problems:
        print(f"ERROR {path}: service {service}: {problem}")
    if problems:
        return 1
    print(f"{path}: {len(compose['services'])} services meet the project's compose rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
