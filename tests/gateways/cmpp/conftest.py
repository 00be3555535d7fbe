"""The simulator (one process per module, restored between tests) and a way to run coroutines."""
import asyncio

import pytest

from tests.simulator.cmpp_process import CmppSim


@pytest.fixture(scope="module")
def ismg():
    sim = CmppSim()
    yield sim
    sim.stop()


@pytest.fixture
def sim(ismg):
    ismg.restore()
    yield ismg
    ismg.restore()


def run(coro, timeout=120):
    """Run a test's coroutine on a fresh loop (a guard against hanging, not a timing check)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(condition, timeout=20, what="the condition"):
    """Wait (on the loop) until condition() is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
