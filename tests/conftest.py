"""Fixtures and hooks for every suite; the helpers they use are in harness.py.

* ``gateway_factory`` / ``gateway``: real ``chat-gateway`` processes (see ``harness.GatewayProcess``).
* ``scripted_upstream``: ``tests/upstream/scripted_upstream.py``, one per session.
* ``async def`` tests run under ``asyncio.run`` (no plugin needed), bounded by
  ``@pytest.mark.async_timeout(seconds)`` (default 30 s).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from pathlib import Path

import pytest

from harness import GATEWAYS_KEY, GatewayFactory, GatewayProcess, ScriptedUpstream

DEFAULT_ASYNC_TIMEOUT = 30.0


# --------------------------------------------------------------------------- async tests


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "async_timeout(seconds): bound for an async test (default 30 s)")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """Run ``async def`` tests with ``asyncio.run`` and a hard timeout."""
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    marker = pyfuncitem.get_closest_marker("async_timeout")
    timeout = float(marker.args[0]) if marker else DEFAULT_ASYNC_TIMEOUT
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    async def bounded():
        try:
            await asyncio.wait_for(func(**kwargs), timeout)
        except asyncio.TimeoutError:
            pytest.fail(f"test did not finish within {timeout} s", pytrace=False)

    # Playwright's sync API (the browser suite) keeps an event loop running on this thread for the
    # whole session, and asyncio.run refuses to nest: run the test on a thread of its own then.
    try:
        asyncio.get_running_loop()
        loop_running = True
    except RuntimeError:
        loop_running = False
    if not loop_running:
        asyncio.run(bounded())
        return True
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(bounded())
        except BaseException as e:  # re-raised on the test's thread, pytest.fail included
            failure.append(e)

    worker = threading.Thread(target=run, name=f"async-{pyfuncitem.name}")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return True


# --------------------------------------------------------------------------- gateways


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if report.failed:
        for gw in item.stash.get(GATEWAYS_KEY, []):
            text = gw.stderr()
            if len(text) > 20000:
                text = "...(truncated)...\n" + text[-20000:]
            report.sections.append((f"gateway {gw.name} stderr ({report.when})", text or "(empty)"))
            if gw.stdout_lines:
                report.sections.append((f"gateway {gw.name} stdout ({report.when})", "\n".join(gw.stdout_lines)))
    return report


@pytest.fixture
def gateway_factory(tmp_path: Path, request: pytest.FixtureRequest):
    factory = GatewayFactory(tmp_path, request.node)
    yield factory
    problems = factory.stop_all()
    if problems:
        details = "\n".join(f"--- {gw.name} stderr ---\n{gw.stderr()[-8000:]}" for gw in factory.started)
        pytest.fail("unclean gateway shutdown:\n" + "\n".join(problems) + "\n" + details, pytrace=False)


@pytest.fixture
def gateway(gateway_factory) -> GatewayProcess:
    """A gateway with BASE_CONFIG (fast demo model: 20 tokens at 400 tokens/s)."""
    return gateway_factory()


@pytest.fixture(scope="session")
def scripted_upstream(tmp_path_factory):
    up = ScriptedUpstream(tmp_path_factory.mktemp("upstream"))
    yield up
    up.stop()


