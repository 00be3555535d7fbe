"""The delivery fixtures (simulators, live server, workers) serve the gateway tests too."""
from tests.delivery.conftest import (  # noqa: F401
    dctx,
    delivery_app,
    live_url,
    sim,
    sim_process,
    workers,
)
