"""What a session says: the outcome of a submit, and the events it hands on (a status report,
a reply), built from the PDUs here so the connector never needs to know a field of one."""
import dataclasses

from . import codec, numbers

ACCEPTED, FLOW_CONTROL, TRANSIENT = "accepted", "flow_control", "transient"
PERMANENT, UNKNOWN, PARTIAL = "permanent", "unknown", "partial"


@dataclasses.dataclass
class PartResult:
    number: int
    outcome: str
    msg_id: str = None
    result: int = None  # SUBMIT_RESP's Result, when one came
    error: str = None


@dataclasses.dataclass
class SubmitResult:
    outcome: str
    parts: list
    error: str = None

    @property
    def msg_ids(self):
        return [p.msg_id for p in self.parts if p.msg_id]

    @property
    def gateway_id(self):
        """The first part's Msg_Id, for a message's gateway id (reports come per part)."""
        return self.msg_ids[0] if self.msg_ids else None

    @property
    def result(self):
        """The Result code that decided the outcome, if the ISMG gave one."""
        for part in self.parts:
            if part.outcome != ACCEPTED:
                return part.result
        return 0 if self.parts else None


@dataclasses.dataclass(frozen=True)
class Report:
    """A status report: what became of the part with Msg_Id `msg_id`."""

    msg_id: str
    stat: str  # DELIVRD, UNDELIV, EXPIRED, REJECTD, MA:xxxx, ...
    to: str  # E.164
    submit_time: str
    done_time: str
    deliver_msg_id: str  # the DELIVER's own Msg_Id
    smsc_sequence: int = 0

    @property
    def delivered(self):
        return self.stat == "DELIVRD"


@dataclasses.dataclass(frozen=True)
class Reply:
    """A text from a phone (MO), its parts joined."""

    sender: str  # E.164
    dest_id: str  # the number written to: access number + extension
    extension: str  # "" when written to the bare access number or to another number
    text: str
    msg_ids: tuple  # each part's DELIVER Msg_Id, in part order: msg_ids[0] names the reply
    msg_fmt: int
    complete: bool = True  # False: some parts never came ("…" marks where)

    @property
    def gateway_id(self):
        return self.msg_ids[0]


def report_from(deliver, report):
    """The Report in a DELIVER whose Msg_Content is a status report."""
    return Report(
        msg_id=codec.msg_id_str(report.msg_id), stat=report.stat,
        to=numbers.e164(report.dest_terminal_id), submit_time=report.submit_time,
        done_time=report.done_time, deliver_msg_id=codec.msg_id_str(deliver.msg_id),
        smsc_sequence=report.smsc_sequence,
    )


def reply_from(deliver, joined, access_number):
    """The Reply from the (first) DELIVER of an MO text and its Reassembled content, whose
    tokens end with the DELIVER's Msg_Id."""
    _, extension = numbers.split_dest_id(deliver.dest_id, access_number)
    return Reply(
        sender=numbers.e164(deliver.src_terminal_id), dest_id=deliver.dest_id, extension=extension,
        text=joined.text, msg_ids=tuple(codec.msg_id_str(t[-1]) for t in joined.firsts),
        msg_fmt=deliver.msg_fmt, complete=joined.complete,
    )
