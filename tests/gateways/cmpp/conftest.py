"""The simulator (one process per module, restored between tests) and waiting on the loop."""
import asyncio

import pytest

from tests.simulator.cmpp_process import CmppSim, run  # noqa: F401 (for the tests here)


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


async def until(condition, timeout=20, what="the condition"):
    """Wait (on the loop) until condition() is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
