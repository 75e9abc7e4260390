"""The settings that each service accepts, for checking environment variables before a pod starts.

A service loads its compiled-in defaults (services/<service>/src/defaults.toml), then the TOML file
that DK_CONFIG_FILE names, then the environment variables DK_<SERVICE>__<SECTION>__<KEY>, with `__`
between deeper levels (crates/config/src/lib.rs, config 0.15). It stops at start on an unknown
key, but it ignores every variable that does not start with DK_<SERVICE>__, so a variable with one
underscore or another service's prefix is lost without a message.

The accepted keys are those of defaults.toml plus the fields of the Rust settings structs in
SETTINGS_STRUCTS, which also cover optional keys that defaults.toml leaves out or only mentions in
comments (telemetry.otlp_endpoint, a bank's API under bank_link, support's opening hours). The
fields are read from the struct definitions, so a renamed field changes this check with it.
"""

import dataclasses
import difflib
import functools
import pathlib
import re
import tomllib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class Service:
    name: str
    port: int
    grpc_service: str

    @property
    def prefix(self):
        return f"DK_{self.name.upper()}__"


SERVICES = {
    service.name: service
    for service in (
        Service("banksync", 50061, "dk.banksync.v1.BankSyncService"),
        Service("bookkeeping", 50062, "dk.bookkeeping.v1.BookkeepingService"),
        Service("billing", 50063, "dk.billing.v1.BillingService"),
        Service("support", 50064, "dk.support.v1.SupportService"),
    )
}

# DK_ variables that are not settings but that the services read: the path of the settings file.
OTHER_VARIABLES = {"DK_CONFIG_FILE"}

ALL_SERVICES = tuple(SERVICES)
SHARED_SETTINGS = "crates/config/src/lib.rs"

# (services, table path, source file, struct): the struct's fields are keys of that table.
SETTINGS_STRUCTS = (
    (ALL_SERVICES, ("grpc",), SHARED_SETTINGS, "GrpcSettings"),
    (ALL_SERVICES, ("database",), SHARED_SETTINGS, "DatabaseSettings"),
    (ALL_SERVICES, ("messaging",), SHARED_SETTINGS, "MessagingSettings"),
    (ALL_SERVICES, ("auth",), SHARED_SETTINGS, "AuthSettings"),
    (ALL_SERVICES, ("telemetry",), SHARED_SETTINGS, "TelemetrySettings"),
    (("banksync",), ("bank_link",), "services/banksync/src/settings.rs", "BankLinkSettings"),
    (("support",), ("calendar",), "crates/calendar/src/settings.rs", "CalendarSettings"),
)

# Structs that a field's type can name, making that field a table of the struct's fields: each
# bank under bank_link (`Option<dk_banklink::BankApiSettings>`).
NESTED_STRUCTS = {"BankApiSettings": "crates/banklink/src/lib.rs"}

# Leaf markers of a settings tree, whose tables are dicts.
VALUE = "value"
LIST = "list"


class SettingsSourceError(Exception):
    """A settings source that this module cannot read as expected."""


def rust_struct_fields(path, struct):
    """Return {field: Rust type} of the `pub struct` named `struct` in the file at `path`."""
    text = (REPO_ROOT / path).read_text()
    match = re.search(rf"^pub struct {struct} \{{\n(.*?)^\}}", text, re.DOTALL | re.MULTILINE)
    if match is None:
        raise SettingsSourceError(
            f"{path}: no `pub struct {struct}` found. Update SETTINGS_STRUCTS in {__file__}"
        )
    body = match.group(1)
    if "rename" in body:
        raise SettingsSourceError(
            f"{path}: struct {struct} renames a field with serde, which {__file__} does not follow"
        )
    fields = dict(re.findall(r"^\s*pub (\w+): (.+),\s*$", body, re.MULTILINE))
    if not fields:
        raise SettingsSourceError(f"{path}: struct {struct} has no `pub name: Type,` fields")
    return fields


def struct_tree(path, struct):
    """Return the settings tree of a struct's fields: nested structs become tables."""
    tree = {}
    for field, rust_type in rust_struct_fields(path, struct).items():
        nested = [name for name in NESTED_STRUCTS if re.search(rf"\b{name}\b", rust_type)]
        if nested:
            tree[field] = struct_tree(NESTED_STRUCTS[nested[0]], nested[0])
        elif re.match(r"(Option<)?(Vec<|\[)", rust_type):
            tree[field] = LIST
        else:
            tree[field] = VALUE
    return tree


def toml_tree(table):
    """Return the settings tree of a parsed TOML table."""
    tree = {}
    for key, value in table.items():
        if isinstance(value, dict):
            tree[key] = toml_tree(value)
        elif isinstance(value, list):
            tree[key] = LIST
        else:
            tree[key] = VALUE
    return tree


def merge_trees(into, other):
    for key, node in other.items():
        if isinstance(node, dict) and isinstance(into.get(key), dict):
            merge_trees(into[key], node)
        else:
            into.setdefault(key, node)


@functools.cache
def settings_tree(service):
    """Return the keys that `service` accepts, as nested dicts with VALUE or LIST leaves."""
    defaults = REPO_ROOT / "services" / service / "src" / "defaults.toml"
    with open(defaults, "rb") as stream:
        tree = toml_tree(tomllib.load(stream))
    for services, table_path, source, struct in SETTINGS_STRUCTS:
        if service not in services:
            continue
        table = tree
        for key in table_path:
            table = table.setdefault(key, {})
        merge_trees(table, struct_tree(source, struct))
    return tree


def dotted(path):
    return ".".join(path)


def closest(word, candidates):
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def variable_problem(name, service=None):
    """Return why the environment variable `name` does not set a setting, or None if it does.

    Variables that do not start with DK_ are not settings and pass, as do OTHER_VARIABLES.
    `service`, when given, is the service whose container receives the variable.
    """
    if not name.upper().startswith("DK_") or name.upper() in OTHER_VARIABLES:
        return None
    head, separator, rest = name.partition("__")
    owner = head[len("DK_") :].lower()
    if not separator or owner not in SERVICES:
        prefixes = ", ".join(candidate.prefix for candidate in SERVICES.values())
        return (
            f"{name} is not a setting: the services read only variables that start with one of "
            f"{prefixes} and ignore this one"
        )
    if service is not None and owner != service:
        return (
            f"{name} is for {owner}, but this container runs {service}, which reads only "
            f"{SERVICES[service].prefix} variables and ignores it"
        )

    path = rest.lower().split("__")
    node = settings_tree(owner)
    for depth, key in enumerate(path):
        if not isinstance(node, dict):
            return f"{name}: {dotted(path[:depth])} of {owner} is a value, not a table"
        if key not in node:
            message = f"{name}: {owner} has no setting {dotted(path[:depth + 1])}"
            suggestion = closest(key, node)
            if suggestion:
                fixed = "__".join(path[:depth] + [suggestion]).upper()
                message += f"; did you mean {head}__{fixed}?"
            else:
                message += (
                    f"; {dotted(path[:depth]) or 'the top level'} has {', '.join(sorted(node))}"
                )
            return message
        node = node[key]
    if isinstance(node, dict):
        keys = ", ".join(sorted(node))
        return f"{name}: {dotted(path)} of {owner} is a table. Name one of its keys: {keys}"
    if node == LIST:
        return (
            f"{name}: {dotted(path)} of {owner} is a list, which an environment variable cannot "
            "set because the services do not split values. Set it in the file of DK_CONFIG_FILE"
        )
    return None


def value_problem(name, value, listens=False):
    """Return why `value` does not work for the setting variable `name`, or None.

    With `listens`, the variable belongs to a server that must be reachable from outside its
    container, so grpc.listen must bind every interface on the service's own port.
    """
    head, _, rest = name.partition("__")
    service = SERVICES.get(head[len("DK_") :].lower())
    if service is None or value is None:
        return None
    path = rest.lower().split("__")
    if path == ["telemetry", "otlp_endpoint"] and value and not value.startswith("http://"):
        return (
            f"{name} is {value!r}: expected an http:// URL, because the services send plaintext "
            "OTLP/gRPC and have no TLS to the collector"
        )
    if path == ["grpc", "listen"] and listens:
        expected = (f"0.0.0.0:{service.port}", f"[::]:{service.port}")
        if value not in expected:
            return (
                f"{name} is {value!r}: expected {expected[0]} or {expected[1]}, so that the "
                f"probes and the Service reach {service.name} on its gRPC port"
            )
    return None


def toml_problems(service, table, path=()):
    """Return the keys of a settings file's parsed TOML `table` that `service` does not accept."""
    problems = []
    node = settings_tree(service)
    for key in path:
        node = node[key]
    for key, value in table.items():
        where = dotted(path + (key,))
        if key not in node:
            suggestion = closest(key, node)
            hint = f"; did you mean {dotted(path + (suggestion,))}?" if suggestion else ""
            problems.append(f"{service} has no setting {where}{hint}")
        elif isinstance(value, dict) and isinstance(node[key], dict):
            problems.extend(toml_problems(service, value, path + (key,)))
        elif isinstance(value, dict) != isinstance(node[key], dict):
            expected = "a table" if isinstance(node[key], dict) else "a value"
            problems.append(f"{where} of {service} is {expected}")
    return problems


def service_of_image(image):
    """Return the service whose image `image` is (`…/dk-<service>:tag`), or None."""
    name = re.split(r"[:@]", (image or "").rsplit("/", 1)[-1])[0]
    if name.startswith("dk-") and name[len("dk-") :] in SERVICES:
        return name[len("dk-") :]
    return None


def source_problems():
    """Return the differences between SERVICES and the services' defaults and proto files."""
    problems = []
    for service in SERVICES.values():
        defaults = REPO_ROOT / "services" / service.name / "src" / "defaults.toml"
        with open(defaults, "rb") as stream:
            listen = tomllib.load(stream)["grpc"]["listen"]
        if not listen.endswith(f":{service.port}"):
            problems.append(f"{defaults}: grpc.listen {listen} is not on port {service.port}")
        package, _, name = service.grpc_service.rpartition(".")
        protos = (REPO_ROOT / "proto").glob(f"{package.replace('.', '/')}/*.proto")
        texts = [proto.read_text() for proto in protos]
        if not any(f"package {package};" in text and f"service {name} " in text for text in texts):
            problems.append(f"proto/: no `service {name}` in package {package}")
    return problems
