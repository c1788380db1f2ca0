"""PackageType Image functions, run as Lambda runs them, which moto 5.2 cannot do.

- CodeSha256: Lambda reports the image manifest's digest (hex, no `sha256:`) for an image
  function; moto (with its ECR stubbed) reports sha256 of the ImageUri string. Patched: a
  `repo@sha256:<hex>` URI gives `<hex>`, so the action's CodeSha256 guard on PublishVersion works
  as it does on Lambda.
- Invoke: moto refuses to run image functions. Patched: the image is pulled from the sandbox's
  local registry (SANDBOX_ECR_REGISTRY, host:port, stands in for <account>.dkr.ecr.<region>
  .amazonaws.com) and run with the sandbox's runtime protocol: the image's ENTRYPOINT (the
  sandbox runtime's bootstrap), its CMD's handler and the event as the two arguments; no /var/task
  or /opt volumes (the image holds its code, model and dependencies). The last line of output is
  the response, a non-zero exit a function error, as for zip functions.
"""
from __future__ import annotations

import json
import logging
import os
import re
from sys import platform
from typing import Any

import requests
from moto import settings
from moto.awslambda import models

log = logging.getLogger(__name__)

ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")

_original_set_code = models.LambdaFunction._set_function_code
_original_invoke = models.LambdaFunction._invoke_lambda


def local_reference(image_uri: str) -> str:
    """The ImageUri with the ECR host replaced by the local registry."""
    registry = os.environ.get("SANDBOX_ECR_REGISTRY", "")
    return ECR_HOST.sub(f"{registry}/", image_uri) if registry else image_uri


def set_function_code(self: Any, updated_spec: dict[str, Any]) -> None:
    _original_set_code(self, updated_spec)
    uri = updated_spec.get("ImageUri")
    if uri and "@sha256:" in uri:
        self.code_sha_256 = uri.split("@sha256:", 1)[1]


def _image(self: Any, ref: str) -> Any:
    import docker.errors

    try:
        return self.docker_client.images.get(ref)
    except docker.errors.ImageNotFound:
        return self.docker_client.images.pull(ref)


def invoke_image(self: Any, event: Any = None) -> tuple[str, bool, str]:
    import docker
    import docker.errors

    self.logs_backend.ensure_log_group(self.logs_group_name)
    if event is None:
        event = {}
    try:
        image_uri = self.code.get("ImageUri", "")
        ref = local_reference(image_uri)
        image = _image(self, ref)
        cmd = self.image_config.cmd or (image.attrs.get("Config") or {}).get("Cmd") or []
        handler = cmd[0] if cmd else ""
        env_vars = {
            "AWS_LAMBDA_FUNCTION_TIMEOUT": self.timeout,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": self.memory_size,
            "AWS_LAMBDA_FUNCTION_VERSION": self.version,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "role-account-id",
            "AWS_SECRET_ACCESS_KEY": "role-secret-key",
            "AWS_SESSION_TOKEN": "session-token",
        }
        env_vars.update(self.environment_vars)
        env_vars["AWS_ENDPOINT_URL"] = f"{settings.moto_server_host()}:{settings.moto_server_port()}"
        run_kwargs: dict[str, Any] = {}
        if platform.startswith("linux"):
            run_kwargs["extra_hosts"] = {"host.docker.internal": "host-gateway"}
        if self.image_config.entry_point:
            run_kwargs["entrypoint"] = self.image_config.entry_point
        if self.image_config.working_directory:
            run_kwargs["working_dir"] = self.image_config.working_directory
        container = None
        exit_code = -1
        output = b""
        try:
            container = self.docker_client.containers.run(
                image.id,
                [handler, json.dumps(event)],
                remove=False,
                mem_limit=f"{self.memory_size}m",
                environment=env_vars,
                detach=True,
                labels={"lmd.sandbox.role": "lambda-image"},
                log_config=docker.types.LogConfig(type=docker.types.LogConfig.types.JSON),
                **run_kwargs,
            )
        finally:
            if container:
                try:
                    exit_code = container.wait(timeout=300)["StatusCode"]
                except requests.exceptions.ReadTimeout:
                    container.stop()
                    container.kill()
                output = container.logs(stdout=False, stderr=True)
                output += container.logs(stdout=True, stderr=False)
                container.remove()
        text = output.decode("utf-8")
        self.save_logs(text)
        lines = text.splitlines() or [""]
        return lines[-1], exit_code != 0, os.linesep.join(lines[:-1])
    except docker.errors.DockerException as error:
        msg = f"error running docker: {error}"
        log.error(msg)
        self.save_logs(msg)
        return msg, True, ""


def invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    if self.package_type == "Image":
        return invoke_image(self, event)
    return _original_invoke(self, event)


def apply() -> None:
    models.LambdaFunction._set_function_code = set_function_code
    models.LambdaFunction._invoke_lambda = invoke_lambda
