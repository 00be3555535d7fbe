"""The `cmpp` gateway as the registry sees it: a connector gateway. Its texts are not sent by the
Celery workers; they are handed to the `notifier cmpp` process (connector.py), which holds the
session to the ISMG and takes them from the outbox itself."""
from notifier.gateways.base import CONNECTOR, Gateway

REQUIRED = ("CMPP_HOST", "CMPP_SP_ID", "CMPP_SHARED_SECRET", "CMPP_SRC_ID")


class CmppGateway(Gateway):
    name = "cmpp"
    kind = CONNECTOR

    def __init__(self, src_id):
        self.sender = src_id  # the SP access number; a notice's extension follows it per text

    @classmethod
    def from_config(cls, config):
        missing = [key for key in REQUIRED if not config.get(key)]
        if missing:
            raise RuntimeError(f"the cmpp gateway needs {', '.join(missing)}")
        return cls(str(config["CMPP_SRC_ID"]))

    def send_many(self, items, delays=None, repace=None):
        raise RuntimeError("cmpp texts are sent by the `notifier cmpp` connector process")

    # find_sent and fetch stay "cannot tell": CMPP has no way to ask about one text; its answers
    # and reports come over the session, and the connector records them as they do.
