"""Tornado handlers of the nb2pipe server extension (see :mod:`nb2pipe.server`)."""

from __future__ import annotations

import json
import os

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from nb2pipe import __version__
from nb2pipe.server import runs as work_runs
from nb2pipe.server import work

#: Larger request bodies are refused, before they are read (a notebook with outputs fits).
MAX_BODY = 64 * 1024 * 1024
#: check, fix and convert run in this many worker processes, off Jupyter's event loop.
WORKERS = 2

_pool = None


def pool():
    """The bounded pool of worker processes (made on first use; ``spawn``, since forking a
    server with threads is unsafe)."""
    global _pool
    if _pool is None:
        import atexit
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _pool = ProcessPoolExecutor(max_workers=WORKERS,
                                    mp_context=multiprocessing.get_context("spawn"))
        atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
    return _pool


async def run_off_loop(function, *args):
    """``function(*args)`` in the pool, awaited; a pool whose worker died is made anew once."""
    import asyncio
    from concurrent.futures.process import BrokenProcessPool

    global _pool
    loop = asyncio.get_running_loop()
    for attempt in (1, 2):
        try:
            return await loop.run_in_executor(pool(), function, *args)
        except BrokenProcessPool:
            _pool = None
            if attempt == 2:
                return 503, {"message": "nb2pipe's worker process stopped; try again"}
    raise AssertionError("unreachable")


class _Handler(APIHandler):
    def reply(self, payload: dict, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"nb2pipe": __version__, **payload}))

    @property
    def root(self) -> str:
        return os.path.realpath(self.settings.get("server_root_dir", os.getcwd()))


@tornado.web.stream_request_body
class _WorkHandler(_Handler):
    """A POST route whose work runs in the pool. The body is streamed: a request without
    credentials, or announcing more than :data:`MAX_BODY`, is refused before any of it is
    read, and one that sends more is cut off at the limit."""

    compute = None  # a function of nb2pipe.server.work

    async def prepare(self) -> None:
        await super().prepare()
        if self.request.method != "POST":
            return
        if not self.current_user:
            raise tornado.web.HTTPError(403)
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            raise tornado.web.HTTPError(413, f"request body over {MAX_BODY // 2**20} MB")
        self.request.connection.set_max_body_size(MAX_BODY)
        self._chunks: list[bytes] = []
        self._size = 0

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > MAX_BODY:
            raise tornado.web.HTTPError(413, f"request body over {MAX_BODY // 2**20} MB")
        self._chunks.append(chunk)

    @tornado.web.authenticated
    async def post(self) -> None:
        status, payload = await run_off_loop(type(self).compute, b"".join(self._chunks),
                                             self.root)
        self.reply(payload, status)


class CheckHandler(_WorkHandler):
    compute = staticmethod(work.check)


class FixHandler(_WorkHandler):
    compute = staticmethod(work.fix)


class ConvertHandler(_WorkHandler):
    compute = staticmethod(work.convert)


class _RunsHandler(_Handler):
    """A POST route of the runs started from JupyterLab (:mod:`nb2pipe.server.runs`)."""

    compute = None
    in_pool = True  # reading runs: in the pool; starting and stopping: here (they are quick)

    @tornado.web.authenticated
    async def post(self) -> None:
        work_runs.reap()
        body = self.request.body
        if len(body) > MAX_BODY:
            raise tornado.web.HTTPError(413)
        if self.in_pool:
            status, payload = await run_off_loop(type(self).compute, body, self.root)
        else:
            status, payload = type(self).compute(body, self.root)
        self.reply(payload, status)


class RunStartHandler(_RunsHandler):
    compute = staticmethod(work_runs.start)
    in_pool = False


class RunStopHandler(_RunsHandler):
    compute = staticmethod(work_runs.stop)
    in_pool = False


class RunsHandler(_RunsHandler):
    compute = staticmethod(work_runs.status)


class RulesHandler(_Handler):
    @tornado.web.authenticated
    def get(self) -> None:
        from nb2pipe.diagnostic import rule_url
        from nb2pipe.lint.registry import RULES

        self.reply({"rules": [{
            "code": code, "name": rule.name, "summary": rule.summary(),
            "severity": rule.severity, "category": rule.category, "fix": rule.fix_safety,
            "url": rule_url(code), "markdown": rule.markdown()}
            for code, rule in sorted(RULES.items())]})


class RuleHandler(_Handler):
    """One rule's page, as Markdown from the installed package: the panel renders it in a
    JupyterLab tab (offline; the web page is a Ctrl/Cmd-click away)."""

    @tornado.web.authenticated
    def get(self, code: str) -> None:
        from nb2pipe.diagnostic import rule_url
        from nb2pipe.lint.registry import RULES

        rule = RULES.get(code.upper())
        if rule is None:
            self.reply({"message": f"no rule {code}: `nb2pipe rule --all` lists them"}, 404)
            return
        self.reply({"code": rule.code, "name": rule.name, "url": rule_url(rule.code),
                    "markdown": rule.markdown()})


def setup_handlers(web_app) -> None:
    base = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [
        (url_path_join(base, "nb2pipe", "check"), CheckHandler),
        (url_path_join(base, "nb2pipe", "fix"), FixHandler),
        (url_path_join(base, "nb2pipe", "convert"), ConvertHandler),
        (url_path_join(base, "nb2pipe", "rules"), RulesHandler),
        (url_path_join(base, "nb2pipe", "run"), RunStartHandler),
        (url_path_join(base, "nb2pipe", "run", "stop"), RunStopHandler),
        (url_path_join(base, "nb2pipe", "runs"), RunsHandler),
        (url_path_join(base, "nb2pipe", "rules", r"([A-Za-z]{2}[0-9]{3})"), RuleHandler),
    ])
