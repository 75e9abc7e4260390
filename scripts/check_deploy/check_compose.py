"""Check the parts of deploy/compose.yaml that the compose specification does not cover.

`docker-compose config` (run by scripts/check-deploy.sh) already checks the file against the
compose specification and resolves every service, volume and network reference. This adds the
project's own expectations: each service has its migration step, its settings and its
hardening, and every dependency that waits for health waits on a healthcheck.

Usage: check_compose.py COMPOSE_FILE
Exits 1 and prints one line per problem, naming the file and the service.
"""

import pathlib
import sys

import yaml

# gRPC port of each service, as in services/<name>/src/defaults.toml.
SERVICES = {"banksync": 50061, "bookkeeping": 50062, "billing": 50063, "support": 50064}


def check(compose, base_dir):
    """Yield (service, problem) for every rule that `compose` breaks."""
    services = compose.get("services") or {}
    volumes = compose.get("volumes") or {}
    networks = compose.get("networks") or {}

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
            if f"{prefix}DATABASE__URL" not in (migrate.get("environment") or {}):
                yield migrate_name, f"environment lacks {prefix}DATABASE__URL"
        condition = ((service.get("depends_on") or {}).get(migrate_name) or {}).get("condition")
        if condition != "service_completed_successfully":
            yield name, f"must depend on {migrate_name} with condition service_completed_successfully"

        build = service.get("build") or {}
        dockerfile = base_dir / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
        if not dockerfile.is_file():
            yield name, f"build.dockerfile {dockerfile} does not exist"

        environment = service.get("environment") or {}
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


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    path = pathlib.Path(sys.argv[1])
    with open(path) as stream:
        compose = yaml.safe_load(stream)
    problems = list(check(compose, path.parent))
    for service, problem in problems:
        print(f"ERROR {path}: service {service}: {problem}")
    if problems:
        return 1
    print(f"{path}: {len(compose['services'])} services meet the project's compose rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
