"""A local Twilio-compatible SMS gateway for the demo, the tests and the benchmarks.

    with SimulatorServer(latency_ms=150, rate_cap=30) as sim:
        client = sim.twilio_client()          # or TWILIO_API_BASE_URL = sim.url
        ...
        assert not sim.duplicates()

`notifier simulator --port 8765` (or `python -m notifier.simulator`) serves one in the foreground.
"""

from .config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_PORT, SimulatorConfig
from .engine import Simulator, TwilioError
from .server import SimulatorServer, run_simulator

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_PORT",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "TwilioError",
    "run_simulator",
]
