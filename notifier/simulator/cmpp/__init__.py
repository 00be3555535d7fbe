"""A simulated China Mobile ISMG speaking CMPP 2.0, for the demo, the tests and the benchmarks.

An outside service like the Twilio simulator beside it: it shares the CMPP codec
(notifier.gateways.cmpp) and no platform code. `python -m notifier.simulator.cmpp --port 7890`
or `notifier simulator --cmpp` serves CMPP on the port and the control API (control.py) on the
next one up.
"""
