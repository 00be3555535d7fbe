"""A local stand-in for Aliyun SMS (Dysmsapi 2017-05-25) that the official SDK talks to unchanged.

    with AliyunSimulatorServer(report_url=..., up_url=...) as sim:
        ALIYUN_SMS_ENDPOINT = sim.url
        ...
        sim.reply("13900000001", "1")       # a deputy answers; pushed to up_url

`notifier simulator --aliyun` (or `python -m notifier.simulator.aliyun`) serves one in the
foreground. It shares no code with the platform.
"""
from .config import (
           DEFAULT_ACCESS_KEY_ID,
           DEFAULT_ACCESS_KEY_SECRET,
           DEFAULT_PORT,
           DEFAULT_SIGN_NAME,
           AliyunSimConfig,
)
from .server import AliyunSimulatorServer

__all__ = ["DEFAULT_ACCESS_KEY_ID", "DEFAULT_ACCESS_KEY_SECRET", "DEFAULT_PORT", "DEFAULT_SIGN_NAME",
           "AliyunSimConfig", "AliyunSimulatorServer"]
