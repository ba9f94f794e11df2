"""The kernel a run's steps share, and a papermill engine that attaches to it quickly.

Steps run in one kernel process whose namespace each step notebook clears first (see
``nb2pipe.targets.papermill.RESET_SOURCE``). papermill's own engine connects a new client for
every notebook, and jupyter_client's readiness check then waits 0.2 s for IOPub to fall silent:
a fifth of a second per step for nothing. The ``nb2pipe`` engine below checks the same thing
(the kernel answers on shell *and* its IOPub messages reach us) and moves on as soon as it has.
"""

from __future__ import annotations

import time

KERNEL = "python3"
ENGINE = "nb2pipe"


def import_before_threads() -> None:
    """What starting a kernel imports, imported now, before a run starts threads of its own.

    Two threads that import one package together can each hold a lock the other waits for
    (one in ``IPython/__init__``, which imports ``IPython.paths``; the other in
    ``from IPython.paths import …``, which imports ``IPython`` first): Python then fails one
    import, and the other finds the package gone from ``sys.modules``. jupyter_client imports
    ``IPython.paths`` when it starts the first kernel, in the main thread; MLflow's client
    imports ``IPython`` on its first request to a tracking server, in the tracker's thread;
    the steps of a sweep start kernels in threads of their own. Every run starts a kernel,
    so this costs nothing: it only comes first."""
    import jupyter_client.manager  # noqa: F401

    try:
        import IPython.paths  # noqa: F401
    except ImportError:  # (jupyter_client does without it)
        pass


class SharedKernel:
    """One kernel for the steps of a run; started lazily, restarted after a crash."""

    def __init__(self, work_dir: str, log_path: str | None = None) -> None:
        self.work_dir = work_dir
        self.log_path = log_path
        self.manager = None
        self._log = None

    def ensure(self) -> None:
        if self.manager is not None and self.manager.is_alive():
            return
        from jupyter_client.manager import KernelManager

        self.shutdown()
        self.manager = KernelManager(kernel_name=KERNEL)
        # The kernel's own stderr (start-up chatter) goes to a log, not the user's terminal;
        # what the cells print comes back through papermill into the executed notebooks.
        if self.log_path:
            self._log = open(self.log_path, "ab")
        self.manager.start_kernel(cwd=self.work_dir, stderr=self._log, stdout=self._log)

    def shutdown(self) -> None:
        if self.manager is not None:
            try:
                self.manager.shutdown_kernel(now=True)
            except Exception:  # already gone
                pass
            self.manager = None
        if self._log is not None:
            self._log.close()
            self._log = None


def register_engine() -> str:
    """Register the ``nb2pipe`` papermill engine (once) and return its name; and papermill's
    Python translator that writes tuples, sets, complex numbers and bytes as the literals they
    are (papermill's own writes them as strings: `(1, 2)` would arrive as `"(1, 2)"`)."""
    from papermill.engines import papermill_engines

    if ENGINE not in papermill_engines._engines:
        papermill_engines.register(ENGINE, _engine_class())
        _register_literal_translator()
    return ENGINE


class LiteralText(str):
    """A parameter value given to papermill as the text of its Python literal (a set, which
    papermill could not record in the notebook's metadata, or a tuple): injected as code,
    recorded as text."""


def literal_values(parameters, values: dict) -> dict:
    """``values`` with those of ``literal`` parameters (tuples, sets, None…) as
    :class:`LiteralText`."""
    literal = {p.name for p in parameters if p.type == "literal"}
    return {name: LiteralText(repr(value)) if name in literal else value
            for name, value in values.items()}


def _register_literal_translator() -> None:
    from papermill.translators import PythonTranslator, papermill_translators

    class LiteralTranslator(PythonTranslator):
        @classmethod
        def translate(cls, val):
            if isinstance(val, LiteralText):
                return str(val)
            if isinstance(val, (tuple, set, frozenset, complex, bytes)):
                return repr(val)
            return super().translate(val)

    papermill_translators.register("python", LiteralTranslator)


def _engine_class():
    from jupyter_core.utils import ensure_async, run_sync
    from nbclient.util import run_hook
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, logger
    from papermill.utils import merge_kwargs, remove_args

    class QuickClient(PapermillNotebookClient):
        async def async_start_new_kernel_client(self):
            if self.owns_km:
                return await super().async_start_new_kernel_client()
            self.kc = self.km.client()
            await ensure_async(self.kc.start_channels())
            if not await _ready(self.kc, self.startup_timeout):
                await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
            self.kc.allow_stdin = False
            await run_hook(self.on_notebook_start, notebook=self.nb)
            return self.kc

        # nbclient binds the synchronous wrapper to its own coroutine: rebind it to ours.
        start_new_kernel_client = run_sync(async_start_new_kernel_client)

    class SharedKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, **kwargs):
            on_cell = kwargs.pop("on_cell", None)
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            if on_cell is not None:  # the cell running, as the user numbers it
                started = nb_man.cell_start

                def cell_start(cell, cell_index=None, **more):
                    number = (cell.get("metadata", {}).get("nb2pipe") or {}).get("cell")
                    if number:
                        on_cell(number)
                    return started(cell, cell_index, **more)

                nb_man.cell_start = cell_start
            if getattr(nb_man, "pbar", None) is not None:
                # the bar names the step and the cell as the user numbers it (tqdm adds
                # the elapsed time): "train · cell 12"
                step = nb_man.pbar.desc

                def describe(cell, step=step):
                    number = (cell.get("metadata", {}).get("nb2pipe") or {}).get("cell")
                    return f"{step} · cell {number}" if number else f"{step} · nb2pipe"

                nb_man.get_cell_description = describe
            final = merge_kwargs(kwargs, timeout=execution_timeout,
                                 startup_timeout=start_timeout, kernel_name=kernel_name,
                                 log=logger, log_output=log_output, stdout_file=stdout_file,
                                 stderr_file=stderr_file)
            client = QuickClient(nb_man, **final)
            try:
                return client.execute()
            finally:
                if client.kc is not None:  # not ours to keep: the kernel outlives it
                    client.kc.stop_channels()

    return SharedKernelEngine


async def _ready(client, timeout: float) -> bool:
    """Whether the kernel answers a kernel_info request and its IOPub status reaches us.

    A status the kernel publishes before our IOPub subscription has reached it is lost
    (ZeroMQ's slow joiner: on a busy core it happened to one tracked run in ten, and the
    run then waited out this check's deadline, 5 s, before its first cell). So a request
    whose status has not arrived is sent again every ``RESEND`` seconds, as jupyter_client's
    own readiness check does; any of them answering is enough."""
    from jupyter_core.utils import ensure_async

    sent = {client.kernel_info()}
    asked = time.monotonic()
    deadline = asked + min(timeout, 5)
    replied = idle = False
    while time.monotonic() < deadline and not (replied and idle):
        if not replied:
            try:
                reply = await ensure_async(client.shell_channel.get_msg(timeout=0.05))
                replied = reply["parent_header"].get("msg_id") in sent
                asked = time.monotonic()  # (its status is published with it)
            except Exception:  # queue.Empty: nothing yet
                pass
        if not idle:
            try:
                message = await ensure_async(client.iopub_channel.get_msg(timeout=0.05))
                idle = message["parent_header"].get("msg_id") in sent and \
                    message["msg_type"] == "status" and \
                    message["content"].get("execution_state") == "idle"
            except Exception:  # queue.Empty: nothing yet
                pass
            if not idle and replied and time.monotonic() - asked > RESEND:
                sent.add(client.kernel_info())  # (its status may reach us: ours is subscribed)
                asked = time.monotonic()
    return replied and idle


#: Seconds to wait for the IOPub status of a kernel_info request the kernel answered
#: before asking again.
RESEND = 0.2
