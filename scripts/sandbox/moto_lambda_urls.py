"""Function URLs for moto 5.2 as Lambda has them: one per qualifier, and invocable.

moto keeps one URL config per function whatever the Qualifier (so pr-1's and pr-2's previews would
share one URL, on $LATEST), and it cannot invoke a URL at all. Here each (function, qualifier) has
its own config, and a request to moto's port with `Host: <url-id>.lambda-url.<region>.on.aws`
is served as Lambda serves a function URL: a payload format 2.0 event to the version the URL's
alias routes to (its weights included), the result mapped to an HTTP response, a function error
to a 502. An AWS_IAM URL answers 403 to a request without a SigV4 signature for service `lambda`
in the URL's region (its form is checked, host signed; not its value: moto keeps no secrets to check
it with), as Lambda answers an unsigned request.
"""
from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from moto.awslambda import models, responses
from moto.awslambda.exceptions import GenericResourcNotFound, LambdaClientError
from moto.core.utils import utcnow
from werkzeug.wrappers import Request, Response

from moto_lambda_fidelity import resolve_invocation, split_qualifier

URL_HOST = re.compile(r"^([a-z0-9]+)\.lambda-url\.([a-z0-9-]+)\.on\.aws$")
SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=[^/\s]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)"
    r"/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=[0-9a-f]{64}$"
)


def signed_for(request: Request, region: str) -> bool:
    """Whether the request carries a SigV4 signature for service lambda in `region`, host signed."""
    match = SIGV4.match(request.headers.get("Authorization", ""))
    return bool(
        match
        and match.group("service") == "lambda"
        and match.group("region") == region
        and "host" in match.group("signed").split(";")
        and request.headers.get("X-Amz-Date")
    )


class UrlConfigExists(LambdaClientError):
    code = 409

    def __init__(self, arn: str) -> None:
        super().__init__(
            "ResourceConflictException",
            f"Failed to create function url config for [functionArn = {arn}]. Error message: "
            " FunctionUrlConfig exists for this Lambda function",
        )


class UrlConfig:
    def __init__(self, function_arn: str, name: str, qualifier: str | None, region: str,
                 config: dict[str, Any]):
        self.url_id = uuid.uuid4().hex
        self.function_arn = function_arn
        self.name = name
        self.qualifier = qualifier
        self.config = dict(config)
        self.url = f"https://{self.url_id}.lambda-url.{region}.on.aws/"
        self.created = utcnow().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        self.last_modified = self.created

    def to_dict(self) -> dict[str, Any]:
        return {
            "FunctionUrl": self.url,
            "FunctionArn": self.function_arn,
            "AuthType": self.config.get("AuthType"),
            "Cors": self.config.get("Cors"),
            "CreationTime": self.created,
            "LastModifiedTime": self.last_modified,
            "InvokeMode": self.config.get("InvokeMode") or "BUFFERED",
        }


def urls_of(backend: Any) -> dict[tuple[str, str | None], UrlConfig]:
    if not hasattr(backend, "_lmd_urls"):
        backend._lmd_urls = {}
    return backend._lmd_urls


def url_key(backend: Any, name_or_arn: str, qualifier: str | None) -> tuple[str, str | None, str]:
    """(name, qualifier, qualified ARN); the function and the alias must exist."""
    storage = backend._lambdas
    name, qualifier = split_qualifier(storage, name_or_arn, qualifier)
    if qualifier == "$LATEST":
        qualifier = None
    latest = storage.get_function_by_name_forbid_qualifier(name)
    arn = models.make_function_arn(backend.region_name, backend.account_id, name)
    if qualifier is None:
        return name, None, arn
    if qualifier not in storage._get_function_aliases(name):
        raise storage.construct_unknown_function_exception(name, qualifier)
    return latest.function_name, qualifier, f"{arn}:{qualifier}"


def request_qualifier(response: Any) -> str | None:
    return response.querystring.get("Qualifier", [None])[0]


def function_name_of(response: Any) -> str:
    return responses.unquote(response.path.split("/")[-2])


def create_url(self: Any) -> tuple[int, dict[str, Any], str]:
    name, qualifier, arn = url_key(self.backend, function_name_of(self), request_qualifier(self))
    urls = urls_of(self.backend)
    if (name, qualifier) in urls:
        raise UrlConfigExists(arn)
    config = UrlConfig(arn, name, qualifier, self.backend.region_name, self.json_body)
    urls[(name, qualifier)] = config
    body = config.to_dict()
    body.pop("LastModifiedTime")
    return 201, {"status": 201}, json.dumps(body)


def existing_url(self: Any) -> UrlConfig:
    name, qualifier, _ = url_key(self.backend, function_name_of(self), request_qualifier(self))
    config = urls_of(self.backend).get((name, qualifier))
    if config is None:
        raise GenericResourcNotFound()
    return config


def get_url(self: Any) -> tuple[int, dict[str, Any], str]:
    return 200, {"status": 200}, json.dumps(existing_url(self).to_dict())


def update_url(self: Any) -> tuple[int, dict[str, Any], str]:
    config = existing_url(self)
    for key in ("AuthType", "Cors", "InvokeMode"):
        if self.json_body.get(key) is not None:
            config.config[key] = self.json_body[key]
    config.last_modified = utcnow().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return 200, {"status": 200}, json.dumps(config.to_dict())


def delete_url(self: Any) -> tuple[int, dict[str, Any], str]:
    config = existing_url(self)
    urls_of(self.backend).pop((config.name, config.qualifier), None)
    return 204, {"status": 204}, ""


# ---------------------------------------------------------------- invoking a URL

def find_url(url_id: str, region: str) -> tuple[Any, UrlConfig] | None:
    for account_id in list(models.lambda_backends.keys()):
        backend = models.lambda_backends[account_id][region]
        for config in urls_of(backend).values():
            if config.url_id == url_id:
                return backend, config
    return None


def url_event(request: Request, url_id: str, host: str) -> dict[str, Any]:
    raw = request.get_data()
    try:
        body, encoded = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(raw).decode("ascii"), True
    query = request.query_string.decode("latin-1")
    headers = {k.lower(): v for k, v in request.headers.items()}
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": host,
            "domainPrefix": url_id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    if raw:
        event["body"] = body
    return event


def http_response(result_text: str, executed: str) -> Response:
    """Lambda's mapping of a URL invocation result to the HTTP response."""
    headers = {"x-amz-executed-version": executed}
    try:
        result = json.loads(result_text)
    except ValueError:
        return Response(result_text, 200, {**headers, "content-type": "application/json"})
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(result_text, 200, {**headers, "content-type": "application/json"})
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    headers.update({str(k): str(v) for k, v in (result.get("headers") or {}).items()})
    headers.setdefault("content-type", "application/json")
    response = Response(data, int(result["statusCode"]), headers)
    for cookie in result.get("cookies") or []:
        response.headers.add("set-cookie", cookie)
    return response


def serve_url(environ: dict[str, Any], url_id: str, region: str, host: str) -> Response:
    found = find_url(url_id, region)
    if found is None:
        return Response(json.dumps({"Message": None}), 403, {"content-type": "application/json"})
    backend, config = found
    request = Request(environ)
    if config.config.get("AuthType") == "AWS_IAM" and not signed_for(request, region):
        return Response(json.dumps({"Message": "Forbidden"}), 403, {"content-type": "application/json"})
    try:
        fn = resolve_invocation(backend, config.name, config.qualifier)
    except LambdaClientError:
        return Response(json.dumps({"Message": None}), 403, {"content-type": "application/json"})
    response_headers: dict[str, str] = {}
    result = fn.invoke(json.dumps(url_event(request, url_id, host)), {}, response_headers)
    text = result.decode("utf-8") if isinstance(result, bytes) else result
    if response_headers.get("x-amz-function-error"):
        return Response("Internal Server Error", 502, {"content-type": "text/plain"})
    return http_response(text, str(fn.version))


def url_middleware(app_call: Any) -> Any:
    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        host = (environ.get("HTTP_HOST") or "").split(":")[0].lower()
        match = URL_HOST.match(host)
        if match:
            return serve_url(environ, match.group(1), match.group(2), host)(environ, start_response)
        return app_call(self, environ, start_response)

    return call


def apply() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    responses.LambdaResponse.create_function_url_config = create_url
    responses.LambdaResponse.get_function_url_config = get_url
    responses.LambdaResponse.update_function_url_config = update_url
    responses.LambdaResponse.delete_function_url_config = delete_url
    DomainDispatcherApplication.__call__ = url_middleware(DomainDispatcherApplication.__call__)
