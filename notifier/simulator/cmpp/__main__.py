"""`python -m notifier.simulator.cmpp [options]`: the ISMG simulator without loading the platform."""

from .cli import cmpp_simulator

cmpp_simulator(prog_name="python -m notifier.simulator.cmpp")
