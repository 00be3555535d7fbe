"""`python -m notifier.simulator [options]`: the simulator without loading the platform."""

from .cli import simulator

simulator(prog_name="python -m notifier.simulator")
