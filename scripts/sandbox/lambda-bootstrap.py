"""Stand-in for the AWS Lambda Python runtime, for moto's Docker invoke protocol.

moto runs one container per Invoke with two arguments: the handler name
("module.function") and the event as JSON. The function code is mounted at
/var/task and the layers are extracted under /opt. moto reads the LAST line of
the container's output as the response and treats a non-zero exit code as a
function error.

This bootstrap does what the real runtime does for one invocation:
- sys.path starts with /var/task, then the layer folders for this Python;
- the handler module is imported, then handler(event, context) is called;
- the JSON result is written as the only line on stdout (everything the
  handler prints goes to stderr, like Lambda's logs), so it is the last line;
- any failure (import, missing handler, exception, timeout, result that is
  not JSON) produces Lambda's error document and a non-zero exit code;
- the log ends with Lambda's REPORT line: Duration (the call), Memory Size,
  Max Memory Used (the process's peak RSS) and Init Duration (the handler
  module's import; every container here is a cold start, so every REPORT has it).
"""

import importlib
import json
import math
import os
import resource
import signal
import sys
import time
import traceback
import uuid

TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
PY_VERSION = "python%d.%d" % sys.version_info[:2]
LAYER_PATHS = ["/opt/python/lib/%s/site-packages" % PY_VERSION, "/opt/python"]
DEFAULT_ACCOUNT = "123456789012"
INIT_TIMEOUT_S = 10.0


class LambdaContext:
    """The attributes and method of the context object Lambda passes to Python handlers."""

    def __init__(self, env, request_id, deadline_ms):
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        region = env.get("AWS_REGION", "us-east-1")
        account = env.get("AWS_ACCOUNT_ID", DEFAULT_ACCOUNT)
        self.invoked_function_arn = "arn:aws:lambda:%s:%s:function:%s" % (
            region,
            account,
            self.function_name,
        )
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + self.function_name)
        self.log_stream_name = env.get(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            time.strftime("%Y/%m/%d") + "/[" + self.function_version + "]" + request_id.replace("-", ""),
        )
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


class HandlerFailure(Exception):
    """A runtime-level failure with Lambda's errorType (import errors, bad handler names)."""

    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def error_document(error_type, message, request_id, stack=None):
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack or [],
    }


def user_stack(tb):
    """The traceback without this bootstrap's own frames, formatted as Lambda does."""
    frames = [f for f in traceback.extract_tb(tb) if f.filename != __file__]
    return traceback.format_list(frames)


def load_handler(handler_name):
    try:
        module_path, function_name = handler_name.rsplit(".", 1)
    except ValueError as error:
        raise HandlerFailure("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler_name, error))
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise HandlerFailure(
            "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, error)
        )
    except SyntaxError as error:
        raise HandlerFailure(
            "Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, error)
        )
    handler = getattr(module, function_name, None)
    if handler is None:
        raise HandlerFailure(
            "Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (function_name, module_name)
        )
    return handler


def main(argv, env):
    # The response channel is the original stdout; everything else (handler prints,
    # runtime log lines, child processes) goes to stderr, Lambda's log stream.
    sys.stdout.flush()
    response_fd = os.dup(1)
    os.dup2(2, 1)
    response = os.fdopen(response_fd, "w", encoding="utf-8")

    request_id = str(uuid.uuid4())
    version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    timeout_s = float(env.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3") or "3")
    started = time.time()
    log = sys.stderr
    timing = {"init_ms": None, "invoke_started": started}

    def finish(document, ok):
        duration = (time.time() - timing["invoke_started"]) * 1000
        peak_kb = max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        init = timing["init_ms"]
        log.write("END RequestId: %s\n" % request_id)
        log.write(
            "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %s MB\t"
            "Max Memory Used: %d MB\t%s\n"
            % (
                request_id,
                duration,
                math.ceil(duration),
                env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
                math.ceil(peak_kb / 1024),
                "" if init is None else "Init Duration: %.2f ms\t" % init,
            )
        )
        log.flush()
        response.write(document + "\n")
        response.flush()
        os._exit(0 if ok else 1)

    def fail(error_type, message, stack=None):
        log.write("[ERROR] %s: %s\n" % (error_type, message))
        for line in stack or []:
            log.write(line)
        finish(json.dumps(error_document(error_type, message, request_id, stack)), False)

    budget = {"phase": "init", "seconds": INIT_TIMEOUT_S}

    def on_timeout(signum, frame):
        if budget["phase"] == "init":
            fail("Runtime.InitTimeout", "Init phase timed out after %.2f seconds" % budget["seconds"])
        fail("Sandbox.Timedout", "%s Task timed out after %.2f seconds" % (request_id, budget["seconds"]))

    log.write("START RequestId: %s Version: %s\n" % (request_id, version))
    if len(argv) < 2:
        fail("Runtime.InvalidArguments", "usage: bootstrap <handler> [event-json]")
    handler_name = argv[1]
    try:
        event = json.loads(argv[2]) if len(argv) > 2 else {}
    except ValueError as error:
        fail("Runtime.InvalidEntrypoint", "event is not JSON: %s" % error)
    if event == "{}":  # moto passes an empty Invoke payload as the JSON string "{}"; Lambda gives {}
        event = {}

    # Lambda's /var/task and /opt are read-only: stale or missing bytecode is compiled again on
    # every cold start and never written back. The sandbox mounts them writable, so say so here.
    sys.dont_write_bytecode = True
    for path in reversed([TASK_ROOT] + LAYER_PATHS):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.chdir(TASK_ROOT)
    os.environ.setdefault("LAMBDA_TASK_ROOT", TASK_ROOT)
    os.environ["_X_AMZN_TRACE_ID"] = "Root=1-%08x-%s" % (int(started), uuid.uuid4().hex[:24])

    # Init (the module import) gets Lambda's 10 s init budget; the call gets the function timeout.
    signal.signal(signal.SIGALRM, on_timeout)
    signal.setitimer(signal.ITIMER_REAL, INIT_TIMEOUT_S)
    try:
        init_started = time.time()
        try:
            handler = load_handler(handler_name)
        finally:
            timing["init_ms"] = (time.time() - init_started) * 1000
            timing["invoke_started"] = time.time()
        budget.update(phase="invoke", seconds=timeout_s)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        context = LambdaContext(env, request_id, (time.time() + timeout_s) * 1000)
        result = handler(event, context)
    except HandlerFailure as failure:
        fail(failure.error_type, failure.message)
    except SystemExit as error:
        fail("Runtime.ExitError", "RequestId: %s Error: Runtime exited with error: exit status %s" % (request_id, error.code))
    except Exception as error:  # the handler's own exception: Lambda reports its class name
        fail(type(error).__name__, str(error), user_stack(error.__traceback__))
    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        document = json.dumps(result)
    except (TypeError, ValueError) as error:
        fail("Runtime.MarshalError", "Unable to marshal response: %s" % error)
    finish(document, True)


if __name__ == "__main__":
    main(sys.argv, os.environ)
