"""The runtime inside one local Lambda execution environment (a copy runs as <work-dir>/runtime/bootstrap.py).

Started as `python -I -S -X utf8 bootstrap.py <control-fd>` with only Lambda's environment variables:
no virtualenv, no site-packages, so `sys.path` is the task root (the unzipped package), the runtime
directory (this script and the AWS SDK a Lambda Python runtime provides) and the standard library.
A package that lacks a dependency fails here exactly as it would on AWS.

It behaves like Lambda's Python runtime (awslambdaric): import the handler once (the init phase),
then run one invocation at a time. stdout/stderr lines and logging records become log events, and
the root logger gets Lambda's handler and format. It talks to the local Lambda service over the
control socket only (one JSON document per line), never over stdout.

Why one file of ~500 lines: it is copied into each environment and run with `-I -S` beside the user's code,
so it can import nothing of shopctl — no split into modules is possible without shipping a package.

With `--snapshot` it plays Lambda SnapStart: init once, run the before-snapshot hooks, then stay as
the snapshot. Each `restore` request forks it (the fork is the restored environment: the imported,
initialised interpreter as it was), the child runs the after-restore hooks and serves invocations.
Hooks are the ones registered with `snapshot_restore_py` (AWS's runtime hooks library, which the
managed Python runtimes include) by the function's code.

Standard library only: nothing of the project is importable in here.
"""

import decimal
import importlib
import io
import json
import logging
import os
import resource
import signal
import socket
import sys
import threading
import time
import traceback

ERROR_LOG_IDENT = "\u00a0"  # the runtime indents stack traces in the logs with NO-BREAK SPACEs
LAMBDA_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the runtime "
    "version in the INIT_START log entry. If this error correlates with a change in the runtime version, "
    "you may be able to mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)

_REQUEST_ID = None


class Channel:
    """The control socket to the local Lambda service: JSON lines both ways."""

    def __init__(self, fd):
        os.set_inheritable(fd, False)  # never leaks into the function's own subprocesses
        self.sock = socket.socket(fileno=fd)
        self.reader = self.sock.makefile("rb")
        self.lock = threading.RLock()

    def rebind(self, fd):
        """A restored environment talks to the service over its own socket (the snapshot keeps its one).

        Called in the fork, which has one thread: a lock another thread of the snapshot held at the fork
        would stay held forever, so the lock is new too.
        """
        os.set_inheritable(fd, False)
        self.lock = threading.RLock()
        self.reader.close()
        self.sock.close()
        self.sock = socket.socket(fileno=fd)
        self.reader = self.sock.makefile("rb")

    def send(self, **message):
        data = (json.dumps(message) + "\n").encode()
        with self.lock:
            self.sock.sendall(data)

    def receive(self):
        line = self.reader.readline()
        return json.loads(line) if line else None

    def log(self, message):
        """One log event (one CloudWatch Logs event)."""
        self.send(type="log", ts=int(time.time() * 1000), message=message)


class LogStream(io.TextIOBase):
    """sys.stdout / sys.stderr: each complete line becomes one log event, as on Lambda."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, channel, fd, name):
        super().__init__()
        self._channel = channel
        self._fd = fd
        self._pending = ""
        self._lock = threading.RLock()  # re-entrant: a signal handler may print too
        self.name = name
        self.buffer = _BinaryLogStream(self)

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                *lines, self._pending = self._pending.split("\n")
                for line in lines:
                    self._channel.log(line + "\n")
        return len(text)

    def flush(self):
        pass  # complete lines are already sent; a partial line waits for its end (or the invoke's end)

    def after_fork(self):
        """In a restored environment (a fork: one thread): a new lock, and nothing of the snapshot's pending."""
        self._lock = threading.RLock()
        self._pending = ""

    def drain(self):
        with self._lock:
            if self._pending:
                self._channel.log(self._pending + "\n")
                self._pending = ""


class _BinaryLogStream(io.RawIOBase):
    def __init__(self, text_stream):
        super().__init__()
        self._text = text_stream

    def writable(self):
        return True

    def write(self, data):
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)


class _LambdaLoggerHandler(logging.Handler):
    def __init__(self, channel):
        super().__init__()
        self.channel = channel

    def emit(self, record):
        try:
            self.channel.log(self.format(record))
        except Exception:
            self.handleError(record)


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _REQUEST_ID or ""
        return True


def _setup_logging(channel):
    """The root logger as Lambda's Python runtime sets it up (so logging.basicConfig() is a no-op)."""
    logging.Formatter.converter = time.gmtime
    handler = _LambdaLoggerHandler(channel)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)


class LambdaContext:
    """The `context` argument: the attributes and methods of Lambda's Python runtime."""

    def __init__(self, request_id, deadline_ms, invoked_function_arn):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = None
        self.identity = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message):
        sys.stdout.write(str(message))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context=None,identity=None])"
        )


class Fault(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


def get_handler(handler):
    """Import the handler's module and find the function, failing with the runtime's error types."""
    try:
        module_name, attribute = handler.rsplit(".", 1)
    except ValueError as error:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {error}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from None
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}", trace
        ) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'"
        ) from None


def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack_trace or [],
    }


def error_from_exception(exc_info, request_id=None):
    error_type, value, tb = exc_info
    frames = traceback.extract_tb(tb)
    here = os.path.abspath(__file__)
    while frames and os.path.abspath(frames[0].filename) == here:
        frames = frames[1:]
    return make_error(str(value), error_type.__name__, traceback.format_list(frames), request_id)


def log_error(channel, error):
    """The runtime's `[ERROR] Type: message` + traceback log event."""
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        description += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [description]
    if error.get("stackTrace") is not None:
        lines.append("Traceback (most recent call last):")
        for element in error["stackTrace"]:
            for line in element.splitlines() or [""]:
                stripped = line.lstrip(" ")
                lines.append(ERROR_LOG_IDENT * (len(line) - len(stripped)) + stripped)
    channel.log("\n".join(lines) + "\n")


def _max_memory_mb():
    """Peak resident memory of this environment, in MB (Lambda's "Max Memory Used")."""
    try:  # VmHWM: ru_maxrss would include the service's own memory, inherited across fork+exec
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return (int(line.split()[1]) + 1023) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + 1023) // 1024  # KB on Linux


def _json_default(value):
    if isinstance(value, decimal.Decimal):  # e.g. numbers straight from DynamoDB
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _ensure_ascii():
    version = os.environ.get("AWS_EXECUTION_ENV", "").rpartition("python")[2]
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return True
    return (major, minor) < (3, 12)


def invoke(channel, handler, message, streams):
    global _REQUEST_ID
    request_id = message["requestId"]
    _REQUEST_ID = request_id
    if message.get("traceId"):
        os.environ["_X_AMZN_TRACE_ID"] = message["traceId"]
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    context = LambdaContext(request_id, message["deadlineMs"], message["invokedFunctionArn"])
    error = None
    reply = {}
    try:
        result = handler(message["event"], context)
        if isinstance(result, bytes):
            reply["payload"] = result.decode("utf-8", "replace")
        else:
            try:
                reply["payload"] = json.dumps(result, default=_json_default, ensure_ascii=_ensure_ascii())
            except (TypeError, ValueError) as problem:
                error = make_error(
                    f"Unable to marshal response: {problem}", "Runtime.MarshalError", None, request_id
                )
    except Exception:
        error = error_from_exception(sys.exc_info(), request_id)
    for stream in streams:
        stream.drain()
    if error is not None:
        log_error(channel, error)
        channel.send(type="error", requestId=request_id, error=error, maxMemoryMB=_max_memory_mb())
    else:
        channel.send(type="result", requestId=request_id, maxMemoryMB=_max_memory_mb(), **reply)


# --- SnapStart ---------------------------------------------------------------------------------


def _hooks(kind):
    """The hooks the function registered (none if it never imported snapshot_restore_py)."""
    library = sys.modules.get("snapshot_restore_py")
    if library is None:
        return []
    return list(library.get_before_snapshot() if kind == "before" else library.get_after_restore())


def run_hooks(kind):
    """Before snapshot: in reverse order of registration; after restore: in order (as Lambda does)."""
    hooks = _hooks(kind)
    for func, args, kwargs in reversed(hooks) if kind == "before" else hooks:
        func(*args, **kwargs)


def _fail_init(channel, streams, error, error_type, message_type="init_error"):
    logging.warning(LAMBDA_WARNING)
    log_error(channel, error)
    for stream in streams:
        stream.drain()
    channel.send(type=message_type, error=error, errorType=error_type, maxMemoryMB=_max_memory_mb())
    os._exit(1)


def _reap(channel):
    """SIGCHLD in the snapshot: collect restored environments that ended and tell the service how."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        try:
            channel.send(type="reaped", pid=pid, returncode=code)
        except OSError:
            return


_SNAPSHOT_LOOPS = []  # kept referenced: closing or collecting one would touch the snapshot's epoll set


def _fresh_event_loop():
    """A restored environment gets an asyncio event loop of its own.

    A loop made at init (Mangum makes one when the handler is built) holds file descriptors: its epoll
    set and its self-pipe. On AWS each restored microVM has its own copy of them; a fork shares them with
    the snapshot and every other restore, so one environment could swallow another's wake-up and hang it.
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _SNAPSHOT_LOOPS.append(asyncio.get_event_loop())
        asyncio.set_event_loop(asyncio.new_event_loop())


def serve_restores(channel, streams):
    """The snapshot: wait for restore requests, fork one restored environment for each.

    Returns only in a restored environment (the child), with its own channel and output.
    """
    signal.signal(signal.SIGCHLD, lambda *_: _reap(channel))
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(channel.sock, 4096, 2)
        except InterruptedError:
            continue
        if not data:  # the service is gone: so is the snapshot
            os._exit(0)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        control_fd, output_fd = fds
        # os.fork() reseeds `random` in the child (the module registers an at-fork hook). A snapshot does
        # not: every restored environment resumes with the generator state the snapshot holds. Hand that
        # state back to the child, or the pitfall SnapStart teaches would not show here.
        random = sys.modules.get("random")
        state = random.getstate() if random is not None else None
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()  # its own process group: killing it takes what it started, not the snapshot
            if random is not None:
                random.setstate(state)
            os.dup2(output_fd, 1)
            os.dup2(output_fd, 2)
            os.close(output_fd)
            channel.rebind(control_fd)
            for stream in streams:
                stream.after_fork()
            _fresh_event_loop()
            return
        os.close(control_fd)
        os.close(output_fd)


def restore(channel, streams):
    """In the restored environment: after-restore hooks, then ready. Reports what the hooks took."""
    channel.send(type="restoring", pid=os.getpid())
    started = time.monotonic()
    try:
        run_hooks("after")
    except Exception:
        error = error_from_exception(sys.exc_info())
        # what Lambda answers the invocation when an after-restore hook fails
        _fail_init(channel, streams, error, "SnapStartException", "restore_error")
    for stream in streams:
        stream.drain()
    hooks_ms = (time.monotonic() - started) * 1000
    channel.send(type="ready", maxMemoryMB=_max_memory_mb(), hooksMs=hooks_ms)


def main():
    channel = Channel(int(sys.argv[1]))
    snapshot = "--snapshot" in sys.argv[2:]
    streams = (LogStream(channel, 1, "<stdout>"), LogStream(channel, 2, "<stderr>"))
    sys.stdout, sys.stderr = streams
    _setup_logging(channel)
    sys.dont_write_bytecode = True  # the task root is read-only on Lambda: no __pycache__ there
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    runtime_dir = os.environ["LAMBDA_RUNTIME_DIR"]
    sys.path[:0] = [task_root, runtime_dir]

    error = None
    try:
        handler = get_handler(os.environ.get("_HANDLER", ""))
    except Fault as fault:
        error, error_type = make_error(fault.message, fault.error_type, fault.trace), fault.error_type
    except Exception:
        error, error_type = error_from_exception(sys.exc_info()), "Runtime.Unknown"
    if error is None and snapshot:
        try:
            run_hooks("before")  # part of the INIT phase, as on Lambda
        except Exception:
            error, error_type = error_from_exception(sys.exc_info()), "Runtime.Unknown"
    if error is not None:
        _fail_init(channel, streams, error, error_type)
    for stream in streams:
        stream.drain()
    channel.send(type="ready", maxMemoryMB=_max_memory_mb())
    if snapshot:
        serve_restores(channel, streams)  # returns in a restored environment only
        restore(channel, streams)

    while True:
        message = channel.receive()
        if message is None:  # the local Lambda service is gone: so is this environment
            os._exit(0)
        if message.get("type") == "invoke":
            invoke(channel, handler, message, streams)


if __name__ == "__main__":
    main()
