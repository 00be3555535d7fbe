"""`python -m notifier.simulator.aliyun [options]`: the Dysmsapi simulator without the platform."""
from .cli import aliyun_simulator

aliyun_simulator(prog_name="python -m notifier.simulator.aliyun")
