"""Resource policies for moto 5.2 as Lambda keeps them: one per qualifier, statement ids unique.

moto keeps one policy per function object and ignores the Qualifier of GetPolicy and
RemovePermission, so an alias's statements show up unqualified and an unqualified
RemovePermission deletes them; and it accepts a second statement with an id already in use, where
Lambda answers 409 ResourceConflictException. Here each (function, qualifier) has its own policy:
AddPermission refuses a statement id that is taken, GetPolicy and RemovePermission read and change
only the policy of the qualifier they name (404 when it has none or no such statement).
"""
from __future__ import annotations

import json
from typing import Any

from moto.awslambda import responses
from moto.awslambda.exceptions import LambdaClientError, UnknownPolicyException
from moto.awslambda.policy import Policy

from moto_lambda_fidelity import split_qualifier


class StatementIdExists(LambdaClientError):
    code = 409

    def __init__(self, sid: str) -> None:
        super().__init__(
            "ResourceConflictException",
            f"The statement id ({sid}) provided already exists. Please specify a new statement id,"
            " or remove the existing statement.",
        )


def policies_of(backend: Any) -> dict[tuple[str, str | None], Policy]:
    if not hasattr(backend, "_lmd_policies"):
        backend._lmd_policies = {}
    return backend._lmd_policies


def policy_key(backend: Any, name_or_arn: str, qualifier: str | None) -> tuple[str, str | None]:
    """(name, qualifier) of an existing function and qualifier (version or alias)."""
    storage = backend._lambdas
    name, qualifier = split_qualifier(storage, name_or_arn, qualifier)
    if qualifier == "$LATEST":
        qualifier = None
    # Raises Lambda's ResourceNotFoundException for a missing function, version or alias.
    storage.get_function_by_name_or_arn_with_qualifier(name, qualifier)
    return name, qualifier


def policy_for(backend: Any, name: str, qualifier: str | None, create: bool) -> Policy | None:
    policies = policies_of(backend)
    key = (name, qualifier)
    if key not in policies and create:
        parent = backend._lambdas.get_function_by_name_forbid_qualifier(name)
        policies[key] = Policy(parent)
    return policies.get(key)


def query(response: Any, name: str) -> str | None:
    return response.querystring.get(name, [None])[0]


def add_permission(self: Any) -> str:
    name, qualifier = policy_key(
        self.backend, responses.unquote(self.path.split("/")[-2]), query(self, "Qualifier")
    )
    body = json.loads(self.body)
    policy = policy_for(self.backend, name, qualifier, create=True)
    assert policy is not None
    sid = body.get("StatementId")
    if sid and any(s.get("Sid") == sid for s in policy.statements):
        raise StatementIdExists(sid)
    statement, _ = policy.add_statement(json.dumps(body), qualifier)
    return json.dumps({"Statement": json.dumps(statement)})


def get_policy(self: Any) -> str:
    name, qualifier = policy_key(
        self.backend, responses.unquote(self.path.split("/")[-2]), query(self, "Qualifier")
    )
    policy = policy_for(self.backend, name, qualifier, create=False)
    if policy is None or not policy.statements:
        raise UnknownPolicyException()
    return policy.wire_format()


def remove_permission(self: Any) -> Any:
    name, qualifier = policy_key(
        self.backend, responses.unquote(self.path.split("/")[-3]), query(self, "Qualifier")
    )
    sid = responses.unquote(self.path.split("/")[-1].split("?")[0])
    policy = policy_for(self.backend, name, qualifier, create=False)
    if policy is None:
        raise UnknownPolicyException()
    policy.del_statement(sid, query(self, "RevisionId") or "")
    return 204, {"status": 204}, "{}"


def apply() -> None:
    responses.LambdaResponse.add_permission = add_permission
    responses.LambdaResponse.get_policy = get_policy
    responses.LambdaResponse.remove_permission = remove_permission
