"""moto 5.2 Lambda made to behave like Lambda where the action's guarantees depend on it.

Each fix names what moto does and what Lambda does:
- Version numbers: moto numbers a new version len(versions) + 1, so after an older version is
  deleted the next publish reuses a number still in use. Lambda counts up per function forever.
- Invoke qualifier: moto reads a lowercase `qualifier` parameter, so every Invoke runs $LATEST.
  Lambda runs the version named (number or alias); an alias with RoutingConfig picks the version
  per invoke by its AdditionalVersionWeights, and X-Amz-Executed-Version says which ran.
- Published versions are copy.copy of $LATEST, whose __getstate__ drops the Docker client (the
  copy fails with a 500 on its first invoke) and which shares $LATEST's `code` dict.
- RevisionId: moto gives functions none and never changes an alias's. Lambda changes it on every
  update and refuses a stale one (PreconditionFailedException, 412) on UpdateAlias,
  UpdateFunctionCode, UpdateFunctionConfiguration and PublishVersion.
- PublishVersion CodeSha256: moto ignores it; Lambda refuses a hash that is not $LATEST's.
- Function errors: moto says `Handled`; Lambda says `Unhandled` for an uncaught exception (and
  for every runtime error of the runtimes this sandbox stands in for).
- UpdateFunctionCode Architectures: moto drops them; Lambda stores them.
- DeleteFunction of a version an alias routes to: moto deletes it (the alias then points at
  nothing); Lambda refuses with ResourceConflictException (409) naming the aliases.
Checks and updates run under one lock: two concurrent runs see the guard as on Lambda.
"""
from __future__ import annotations

import copy
import json
import random
import threading
import uuid
from typing import Any

from moto.awslambda import models, responses
from moto.awslambda.exceptions import (
    InvalidParameterValueException,
    LambdaClientError,
    PreconditionFailedException,
)

LOCK = threading.RLock()
_original_del_function = models.LambdaStorage.del_function


class VersionInUse(LambdaClientError):
    code = 409

    def __init__(self, aliases: list[str]) -> None:
        super().__init__(
            "ResourceConflictException",
            "Unable to delete version because the following aliases reference it: "
            f"[{', '.join(aliases)}]",
        )

STALE_REVISION = (
    "The RevisionId provided does not match the latest RevisionId for the Lambda function or"
    " alias. Call the GetFunction or the GetAlias API to retrieve the latest RevisionId for your"
    " resource."
)


def new_revision() -> str:
    return str(uuid.uuid4())


def check_revision(given: str | None, current: str) -> None:
    if given and given != current:
        raise PreconditionFailedException(STALE_REVISION)


def body_of(response: Any) -> dict[str, Any]:
    try:
        return json.loads(response.body or "{}")
    except ValueError:
        return {}


# ---------------------------------------------------------------- functions: RevisionId

_original_init = models.LambdaFunction.__init__
_original_get_configuration = models.LambdaFunction.get_configuration
_original_update_configuration = models.LambdaFunction.update_configuration


def function_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    self.revision_id = new_revision()


def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
    config = _original_get_configuration(self, on_create)
    config["RevisionId"] = getattr(self, "revision_id", None) or new_revision()
    return config


def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
    self.revision_id = new_revision()
    return _original_update_configuration(self, config_updates)


def backend_update_function_configuration(
    self: Any, function_name: str, qualifier: str | None, body: dict[str, Any]
) -> dict[str, Any] | None:
    with LOCK:
        fn = self.get_function(function_name, qualifier)
        check_revision(body.get("RevisionId"), fn.revision_id)
        return fn.update_configuration(body)


def backend_update_function_code(
    self: Any, function_name: str, qualifier: str | None, body: dict[str, Any]
) -> dict[str, Any] | None:
    with LOCK:
        fn = self.get_function(function_name, qualifier)
        check_revision(body.get("RevisionId"), fn.revision_id)
        if body.get("DryRun"):
            return fn.get_configuration()
        if body.get("Architectures"):
            fn.architectures = body["Architectures"]  # the setter validates them as Lambda does
        fn._set_function_code(body)
        fn.code_or_config_updated = True
        fn.revision_id = new_revision()
        fn.last_modified = models.iso_8601_datetime_with_nanoseconds()
        if body.get("Publish"):
            return self._lambdas.publish_version(function_name).get_configuration()
        return fn.get_configuration()


# ---------------------------------------------------------------- versions

def publish_version(
    self: Any,
    name_or_arn: str,
    description: str = "",
    code_sha256: str | None = None,
    revision_id: str | None = None,
) -> Any:
    with LOCK:
        function = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
        name = function.function_name
        if name not in self._functions or not self._functions[name]["latest"]:
            return None
        latest = self._functions[name]["latest"]
        if code_sha256 and code_sha256 != latest.code_sha_256:
            raise InvalidParameterValueException(
                f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST"
                f" ({latest.code_sha_256}). Please try again with the CodeSHA256 in $LATEST."
            )
        check_revision(revision_id, latest.revision_id)
        all_versions = self._functions[name]["versions"]
        if all_versions:
            if not function.code_or_config_updated:
                return all_versions[-1]  # nothing changed since the last publish: Lambda returns it
            function.code_or_config_updated = False
        highest = getattr(self, "_lmd_highest", None)
        if highest is None:
            highest = self._lmd_highest = {}
        existing = max((int(v.version) for v in all_versions), default=0)
        new_version = max(existing, highest.get(name, 0)) + 1
        highest[name] = new_version
        fn = copy.copy(latest)
        fn._DockerModel__docker_client = None  # dropped by __getstate__: the copy makes its own
        fn.code = dict(latest.code)  # $LATEST's later code updates must not reach the version
        fn.environment_vars = dict(latest.environment_vars)
        fn.revision_id = new_revision()
        fn.set_version(new_version)
        if description:
            fn.description = description
        all_versions.append(fn)
        self._arns[fn.function_arn] = fn
        return fn


def backend_publish_version(
    self: Any,
    function_name: str,
    description: str = "",
    code_sha256: str | None = None,
    revision_id: str | None = None,
) -> Any:
    return self._lambdas.publish_version(function_name, description, code_sha256, revision_id)


def response_publish_version(self: Any) -> tuple[int, dict[str, Any], str]:
    function_name = responses.unquote(self.path.split("/")[-2])
    body = body_of(self)
    fn = self.backend.publish_version(
        function_name, body.get("Description") or "", body.get("CodeSha256"), body.get("RevisionId")
    )
    return 201, {"status": 201}, json.dumps(fn.get_configuration())


def del_function(self: Any, name_or_arn: str, qualifier: str | None = None) -> None:
    with LOCK:
        name, qualifier = split_qualifier(self, name_or_arn, qualifier)
        if qualifier and qualifier.isdigit() and name in self._functions:
            referencing = sorted(
                alias.name
                for alias in self._get_function_aliases(name).values()
                if qualifier == str(alias.function_version)
                or qualifier in ((alias.routing_config or {}).get("AdditionalVersionWeights") or {})
            )
            if referencing:
                raise VersionInUse(referencing)
        _original_del_function(self, name_or_arn, qualifier)


# ---------------------------------------------------------------- aliases

def storage_update_alias(
    self: Any,
    name: str,
    function_name: str,
    function_version: str | None,
    description: str | None,
    routing_config: Any,
    revision_id: str | None = None,
) -> Any:
    with LOCK:
        alias = self.get_alias(name, function_name)
        check_revision(revision_id, alias.revision_id)
        if function_version is not None:
            self.get_function_by_name_or_arn_with_qualifier(function_name, function_version)
        for version in ((routing_config or {}).get("AdditionalVersionWeights") or {}):
            self.get_function_by_name_or_arn_with_qualifier(function_name, version)
        alias.update(description, function_version, routing_config)
        alias.revision_id = new_revision()
        return alias


def backend_update_alias(
    self: Any,
    name: str,
    function_name: str,
    function_version: str | None,
    description: str | None,
    routing_config: Any,
    revision_id: str | None = None,
) -> Any:
    return self._lambdas.update_alias(
        name, function_name, function_version, description, routing_config, revision_id
    )


def response_update_alias(self: Any) -> tuple[int, dict[str, Any], str]:
    function_name = responses.unquote(self.path.rsplit("/")[-3])
    alias_name = responses.unquote(self.path.rsplit("/", 2)[-1])
    params = body_of(self)
    alias = self.backend.update_alias(
        name=alias_name,
        function_name=function_name,
        function_version=params.get("FunctionVersion"),
        description=params.get("Description"),
        routing_config=params.get("RoutingConfig"),
        revision_id=params.get("RevisionId"),
    )
    return 200, {"status": 200}, json.dumps(alias.to_json())


# ---------------------------------------------------------------- invoke

def split_qualifier(
    storage: Any, name_or_arn: str, qualifier: str | None
) -> tuple[str, str | None]:
    """(function name, qualifier) from a name, `name:qualifier`, or a (qualified) ARN."""
    if name_or_arn.startswith("arn:"):
        _, name, in_arn = storage.split_function_arn(name_or_arn)
        return name, in_arn or qualifier
    if ":" in name_or_arn:
        name, in_name = name_or_arn.split(":", 1)
        return name, in_name
    return name_or_arn, qualifier


def pick_weighted(primary: str, weights: dict[str, float], draw: float) -> str:
    """The version an alias routes one invoke to: each additional version gets its weight."""
    for version, weight in sorted(weights.items()):
        if draw < weight:
            return version
        draw -= weight
    return primary


def resolve_invocation(backend: Any, name_or_arn: str, qualifier: str | None) -> Any:
    """The function object one Invoke runs: $LATEST, a version, or the version an alias picks."""
    storage = backend._lambdas
    name, qualifier = split_qualifier(storage, name_or_arn, qualifier)
    if name not in storage._functions:
        raise storage.construct_unknown_function_exception(name, qualifier)
    if qualifier and not qualifier.isdigit() and qualifier != "$LATEST":
        aliases = storage._get_function_aliases(name)
        if qualifier in aliases:
            alias = aliases[qualifier]
            weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
            chosen = pick_weighted(alias.function_version, weights, random.random())
            return storage.get_function_by_name_with_qualifier(name, chosen)
    return storage.get_function_by_name_with_qualifier(name, qualifier)


def backend_invoke(
    self: Any,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> Any:
    fn = resolve_invocation(self, function_name, qualifier)
    payload = fn.invoke(body, headers, response_headers)
    response_headers["Content-Length"] = str(len(payload))
    response_headers["x-amz-executed-version"] = str(fn.version)
    return payload


_original_response_invoke = responses.LambdaResponse.invoke


def response_invoke(self: Any) -> Any:
    # Lambda's parameter is `Qualifier`; moto reads `qualifier` and so always runs $LATEST.
    qualifier = self.querystring.get("Qualifier", [None])[0]
    if qualifier is not None:
        self.querystring["qualifier"] = [qualifier]
    return _original_response_invoke(self)


_original_function_invoke = models.LambdaFunction.invoke


def function_invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> Any:
    result = _original_function_invoke(self, body, request_headers, response_headers)
    if response_headers.get("x-amz-function-error") == "Handled":
        response_headers["x-amz-function-error"] = "Unhandled"
    return result


def apply() -> None:
    models.LambdaFunction.__init__ = function_init
    models.LambdaFunction.get_configuration = get_configuration
    models.LambdaFunction.update_configuration = update_configuration
    models.LambdaFunction.invoke = function_invoke
    models.LambdaStorage.publish_version = publish_version
    models.LambdaStorage.update_alias = storage_update_alias
    models.LambdaStorage.del_function = del_function
    models.LambdaBackend.publish_version = backend_publish_version
    models.LambdaBackend.update_alias = backend_update_alias
    models.LambdaBackend.update_function_configuration = backend_update_function_configuration
    models.LambdaBackend.update_function_code = backend_update_function_code
    models.LambdaBackend.invoke = backend_invoke
    responses.LambdaResponse.publish_version = response_publish_version
    responses.LambdaResponse.update_alias = response_update_alias
    responses.LambdaResponse.invoke = response_invoke
