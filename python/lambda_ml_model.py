"""Finds the model this function version was deployed with (shipped by lambda-ml-deploy).

    from lambda_ml_model import model_dir
    MODEL = load(os.path.join(model_dir(), "weights.bin"))   # at import: once per container

The handler is the same whichever way the model travels:
  - model-store: bundle -> the model is in the zip, model_dir() is /var/task/<model-dest>;
  - model-store: s3     -> the version's environment pins a manifest (LAMBDA_ML_MODEL_MANIFEST,
    s3://bucket/key, content-addressed); the first call in a container downloads every file it
    lists into /tmp with parallel ranged reads, checks each sha256, and later calls (warm
    invocations) reuse the verified copy.
Failures raise ModelLoadError (ModelChecksumError for a file whose bytes are not the pinned ones)
with what failed and what to do.
"""

import hashlib
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

# Written when the bundle is built (model-store and model-dest inputs).
MODEL_STORE = "bundle"
MODEL_DEST = "model"

MANIFEST_ENV = "LAMBDA_ML_MODEL_MANIFEST"
CACHE_ROOT_ENV = "LAMBDA_ML_MODEL_CACHE"
PART_BYTES = int(os.environ.get("LAMBDA_ML_MODEL_PART_MB", "16")) * 1024 * 1024
CONCURRENCY = int(os.environ.get("LAMBDA_ML_MODEL_CONCURRENCY", "8"))
READ_CHUNK = 1024 * 1024
MANIFEST_FORMAT = 1

_lock = threading.Lock()
_loaded = {}
# What the last model_dir() call did: {"cached": bool, "files": n, "bytes": n, "seconds": s}.
last_load = {}


class ModelLoadError(Exception):
    """The model could not be made available; the message says what failed and what to do."""


class ModelChecksumError(ModelLoadError):
    """A downloaded file's sha256 is not the one the version's manifest pins."""


def model_dir():
    """The folder holding the model files (downloaded and verified first in s3 mode)."""
    if MODEL_STORE != "s3":
        root = os.environ.get("LAMBDA_TASK_ROOT") or os.path.dirname(os.path.abspath(__file__))
        last_load.update({"cached": True, "files": 0, "bytes": 0, "seconds": 0.0})
        return os.path.join(root, MODEL_DEST) if MODEL_DEST else root
    uri = os.environ.get(MANIFEST_ENV, "")
    if not uri:
        raise ModelLoadError(
            "%s is not set: this version was not deployed with model-store: s3 by lambda-ml-deploy "
            "(or its environment was edited). Redeploy it." % MANIFEST_ENV
        )
    with _lock:
        if uri in _loaded:
            last_load.update({"cached": True, "seconds": 0.0})
            return _loaded[uri]
        folder = _load(uri)
        _loaded[uri] = folder
        return folder


def parse_s3_uri(uri):
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ModelLoadError("%s is '%s'; expected s3://bucket/key" % (MANIFEST_ENV, uri))
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def s3_client():
    import boto3
    from botocore.config import Config

    # Older botocore ignores AWS_ENDPOINT_URL; on Lambda neither variable is set.
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    config = Config(
        max_pool_connections=max(CONCURRENCY, 10),
        retries={"max_attempts": 5, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint else {},
    )
    return boto3.client("s3", endpoint_url=endpoint, config=config)


def _describe_error(error, bucket, key):
    code = ""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    prefix = key.rsplit("/", 1)[0] if "/" in key else ""
    where = "s3://%s/%s" % (bucket, key)
    if code in ("AccessDenied", "403", "Forbidden"):
        return ModelLoadError(
            "Reading %s was denied (AccessDenied): the function's execution role needs "
            "s3:GetObject on arn:aws:s3:::%s/%s/* (see the README's IAM section)."
            % (where, bucket, prefix)
        )
    if code in ("NoSuchKey", "404", "NotFound"):
        return ModelLoadError(
            "%s does not exist: it was deleted after this version was published (a lifecycle "
            "rule or a manual delete?). Redeploy the model to upload it again." % where
        )
    if code == "NoSuchBucket":
        return ModelLoadError("Bucket %s does not exist (or is in another region)." % bucket)
    return ModelLoadError("Reading %s failed: %s" % (where, error))


def _get(client, bucket, key, **extra):
    try:
        return client.get_object(Bucket=bucket, Key=key, **extra)
    except Exception as error:  # botocore's ClientError and connection errors
        raise _describe_error(error, bucket, key) from error


def read_manifest(client, bucket, key):
    body = _get(client, bucket, key)["Body"].read()
    name = key.rsplit("/", 1)[-1]
    expected = name[: -len(".json")] if name.endswith(".json") else ""
    actual = hashlib.sha256(body).hexdigest()
    if expected and actual != expected:
        raise ModelChecksumError(
            "Manifest s3://%s/%s has sha256 %s, but its name pins %s: the object was changed "
            "after upload. Redeploy to write it again." % (bucket, key, actual, expected)
        )
    manifest = json.loads(body)
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ModelLoadError(
            "Manifest s3://%s/%s has format %r; this loader reads format %d. Redeploy with the "
            "same lambda-ml-deploy version." % (bucket, key, manifest.get("format"), MANIFEST_FORMAT)
        )
    for entry in manifest["files"]:
        path = entry["path"]
        parts = path.split("/")
        if path.startswith("/") or ".." in parts or "" in parts:
            raise ModelLoadError("Manifest s3://%s/%s lists an unsafe path %r" % (bucket, key, path))
    return manifest


def _ranges(size):
    if size == 0:
        return []
    return [(start, min(start + PART_BYTES, size) - 1) for start in range(0, size, PART_BYTES)]


def _download_part(client, bucket, entry, fd, first, last):
    response = _get(client, bucket, entry["key"], Range="bytes=%d-%d" % (first, last))
    body = response["Body"]
    offset = first
    while True:
        chunk = body.read(READ_CHUNK)
        if not chunk:
            break
        os.pwrite(fd, chunk, offset)
        offset += len(chunk)
    if offset != last + 1:
        raise ModelLoadError(
            "s3://%s/%s: bytes %d-%d came back %d bytes short (the object is smaller than the "
            "manifest says: was it replaced?)" % (bucket, entry["key"], first, last, last + 1 - offset)
        )


def _sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(READ_CHUNK * 4), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _load(uri):
    started = time.monotonic()
    bucket, key = parse_s3_uri(uri)
    manifest_id = key.rsplit("/", 1)[-1].split(".", 1)[0]
    folder = os.path.join(os.environ.get(CACHE_ROOT_ENV, "/tmp/lambda-ml-model"), manifest_id)
    done_marker = folder + ".verified"
    if os.path.exists(done_marker):  # the runtime restarted in this container: /tmp survived
        last_load.update({"cached": True, "files": 0, "bytes": 0, "seconds": 0.0})
        return folder
    client = s3_client()
    manifest = read_manifest(client, bucket, key)
    files = manifest["files"]
    total = sum(int(entry["size"]) for entry in files)
    descriptors = {}
    try:
        for entry in files:
            target = os.path.join(folder, entry["path"])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            descriptors[entry["path"]] = fd
            os.ftruncate(fd, int(entry["size"]))
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            futures = [
                pool.submit(_download_part, client, bucket, entry, descriptors[entry["path"]], a, b)
                for entry in files
                for a, b in _ranges(int(entry["size"]))
            ]
            for future in futures:
                future.result()
    except OSError as error:
        raise ModelLoadError(
            "Writing the model into %s failed (%s): the model is %d bytes; is ephemeral-storage "
            "large enough?" % (folder, error, total)
        ) from error
    finally:
        for fd in descriptors.values():
            os.close(fd)
    for entry in files:
        actual = _sha256_of(os.path.join(folder, entry["path"]))
        if actual != entry["sha256"]:
            raise ModelChecksumError(
                "Checksum mismatch for model file %s (s3://%s/%s): sha256 %s, but this version "
                "pins %s. The object was changed after upload; this version cannot serve. Delete "
                "the object and redeploy to upload the model again."
                % (entry["path"], bucket, entry["key"], actual, entry["sha256"])
            )
    with open(done_marker, "w") as marker:
        marker.write(uri)
    seconds = time.monotonic() - started
    last_load.update({"cached": False, "files": len(files), "bytes": total, "seconds": seconds})
    sys.stderr.write(
        "lambda_ml_model: %d file(s), %.1f MB from s3://%s in %.2f s (%.1f MB/s)\n"
        % (len(files), total / 1e6, bucket, seconds, total / 1e6 / max(seconds, 1e-6))
    )
    return folder
