"""CMPP 2.0 PDUs: one field table, one encoder/decoder driven by it, framing, the CONNECT
authenticators and Msg_Id.

Each PDU below is a dataclass whose fields come from its `layout`, in wire order; nothing else in
the project knows a byte offset. Big-endian integers; fixed-length ASCII strings padded with NUL;
two variable parts: DestUsr_tl x Dest_terminal_Id (`Terminals`) and Msg_Length + Msg_Content
(`Content`). Field layout per ../shared/reference/cmpp2.md (CMPP 2.0, China Mobile).
"""
import dataclasses
import hashlib
import struct
from typing import ClassVar, NamedTuple

HEADER = struct.Struct(">III")  # Total_Length, Command_Id, Sequence_Id
VERSION = 0x20
RESPONSE = 0x80000000  # a response's Command_Id is its request's with the top bit set

CONNECT, TERMINATE, SUBMIT, DELIVER, ACTIVE_TEST = 0x1, 0x2, 0x4, 0x5, 0x8


class CmppError(Exception):
    """Something on the wire is not CMPP 2.0 as we know it."""


class FramingError(CmppError):
    """The byte stream cannot be followed any further (an absurd Total_Length): drop the link."""


class DecodeError(CmppError):
    """One whole PDU whose body does not fit its layout (or an unknown command). The frame has
    been consumed, so the stream is still in step; the header says what it was."""

    def __init__(self, message, command_id, sequence_id, body):
        super().__init__(message)
        self.command_id, self.sequence_id, self.body = command_id, sequence_id, body


COMMANDS = {}  # Command_Id -> its Pdu class, filled as the classes below are defined


# -- field kinds ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Int:
    name: str
    size: int  # 1, 4 or 8 bytes, unsigned
    default = 0

    def pack(self, value):
        return int(value).to_bytes(self.size, "big")  # OverflowError when it does not fit

    def unpack(self, buf, at):
        return int.from_bytes(buf[at : at + self.size], "big"), at + self.size

    def max_size(self):
        return self.size


@dataclasses.dataclass(frozen=True)
class Str:
    """ASCII, NUL-padded to `size`. Decoding stops at the first NUL (some ISMGs leave junk after it)."""

    name: str
    size: int
    default = ""

    def pack(self, value):
        raw = value.encode("ascii")
        if len(raw) > self.size:
            raise ValueError(f"{self.name} is at most {self.size} characters: {value!r}")
        return raw.ljust(self.size, b"\0")

    def unpack(self, buf, at):
        raw = bytes(buf[at : at + self.size]).split(b"\0", 1)[0]
        return raw.decode("ascii", errors="replace"), at + self.size

    def max_size(self):
        return self.size


@dataclasses.dataclass(frozen=True)
class Octets:
    """Raw bytes of a fixed size (authenticators, Reserve); shorter values are NUL-padded."""

    name: str
    size: int

    @property
    def default(self):
        return bytes(self.size)

    def pack(self, value):
        if len(value) > self.size:
            raise ValueError(f"{self.name} is at most {self.size} bytes")
        return bytes(value).ljust(self.size, b"\0")

    def unpack(self, buf, at):
        return bytes(buf[at : at + self.size]), at + self.size

    def max_size(self):
        return self.size


@dataclasses.dataclass(frozen=True)
class Terminals:
    """DestUsr_tl (1 byte) followed by that many `size`-byte numbers: a list of str."""

    name: str
    size: int = 21
    most: int = 100
    default = ()

    def pack(self, value):
        if not 0 < len(value) <= self.most:
            raise ValueError(f"{self.name}: 1 to {self.most} numbers, got {len(value)}")
        item = Str(self.name, self.size)
        return bytes([len(value)]) + b"".join(item.pack(v) for v in value)

    def unpack(self, buf, at):
        count, at = buf[at], at + 1
        item, values = Str(self.name, self.size), []
        for _ in range(count):
            value, at = item.unpack(buf, at)
            values.append(value)
        return tuple(values), at

    def max_size(self):
        return 1 + self.most * self.size


@dataclasses.dataclass(frozen=True)
class Content:
    """Msg_Length (1 byte) followed by Msg_Content: bytes."""

    name: str
    default = b""

    def pack(self, value):
        if len(value) > 255:
            raise ValueError(f"{self.name} is at most 255 bytes, got {len(value)}")
        return bytes([len(value)]) + bytes(value)

    def unpack(self, buf, at):
        length = buf[at]
        return bytes(buf[at + 1 : at + 1 + length]), at + 1 + length

    def max_size(self):
        return 1 + 255


# -- structures and PDUs -------------------------------------------------------------------
class Struct:
    """A dataclass built from `layout`: keyword-only fields with the kinds' defaults."""

    layout: ClassVar[tuple] = ()
    head: ClassVar[tuple] = ()  # (name, default) of fields that are not in the body

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fields = [*cls.head, *((f.name, f.default) for f in cls.layout)]
        cls.__annotations__ = {name: object for name, _ in fields}
        for name, default in fields:
            setattr(cls, name, dataclasses.field(default=default))
        dataclasses.dataclass(kw_only=True)(cls)
        if "command_id" in cls.__dict__:
            COMMANDS[cls.command_id] = cls

    def pack_body(self):
        return b"".join(f.pack(getattr(self, f.name)) for f in self.layout)

    @classmethod
    def unpack_body(cls, body, **head):
        values, at = {}, 0
        for f in cls.layout:
            try:
                values[f.name], at = f.unpack(body, at)
            except IndexError:
                at = len(body) + 1
            if at > len(body):
                raise ValueError(f"body ends inside {f.name}")
        if at != len(body):
            raise ValueError(f"{len(body) - at} bytes left after the last field")
        return cls(**values, **head)

    @classmethod
    def max_body(cls):
        return sum(f.max_size() for f in cls.layout)


class Pdu(Struct):
    """A Struct with a header: `pack()` gives the whole frame."""

    command_id: ClassVar[int]
    head = (("sequence_id", 0),)

    @property
    def name(self):
        return type(self).__name__

    def pack(self):
        body = self.pack_body()
        return HEADER.pack(HEADER.size + len(body), self.command_id, self.sequence_id) + body




class Connect(Pdu):
    command_id = CONNECT
    layout = (
        Str("source_addr", 6),  # the SP's enterprise code (CMPP_SP_ID)
        Octets("authenticator_source", 16),
        Int("version", 1),
        Int("timestamp", 4),  # MMDDHHMMSS read as a decimal number
    )


class ConnectResp(Pdu):
    command_id = CONNECT | RESPONSE
    layout = (Int("status", 1), Octets("authenticator_ismg", 16), Int("version", 1))


class Terminate(Pdu):
    command_id = TERMINATE


class TerminateResp(Pdu):
    command_id = TERMINATE | RESPONSE


class Submit(Pdu):
    command_id = SUBMIT
    layout = (
        Int("msg_id", 8),
        Int("pk_total", 1),
        Int("pk_number", 1),
        Int("registered_delivery", 1),
        Int("msg_level", 1),
        Str("service_id", 10),
        Int("fee_usertype", 1),
        Str("fee_terminal_id", 21),
        Int("tp_pid", 1),
        Int("tp_udhi", 1),
        Int("msg_fmt", 1),
        Str("msg_src", 6),
        Str("feetype", 2),
        Str("feecode", 6),
        Str("valid_time", 17),
        Str("at_time", 17),
        Str("src_id", 21),
        Terminals("dest_terminal_id"),
        Content("msg_content"),
        Octets("reserve", 8),
    )


class SubmitResp(Pdu):
    command_id = SUBMIT | RESPONSE
    layout = (Int("msg_id", 8), Int("result", 1))


class Deliver(Pdu):
    command_id = DELIVER
    layout = (
        Int("msg_id", 8),
        Str("dest_id", 21),
        Str("service_id", 10),
        Int("tp_pid", 1),
        Int("tp_udhi", 1),
        Int("msg_fmt", 1),
        Str("src_terminal_id", 21),
        Int("registered_delivery", 1),  # 1: Msg_Content is a StatusReport
        Content("msg_content"),
        Octets("reserve", 8),
    )

    @property
    def report(self):
        """The status report inside Msg_Content, or None for a text from a phone (MO)."""
        if self.registered_delivery != 1:
            return None
        try:
            return StatusReport.unpack_body(self.msg_content)
        except ValueError as exc:
            raise DecodeError(
                f"status report: {exc}", self.command_id, self.sequence_id, self.msg_content
            ) from None


class DeliverResp(Pdu):
    command_id = DELIVER | RESPONSE
    layout = (Int("msg_id", 8), Int("result", 1))


class ActiveTest(Pdu):
    command_id = ACTIVE_TEST


class ActiveTestResp(Pdu):
    command_id = ACTIVE_TEST | RESPONSE
    layout = (Octets("reserved", 1),)


class StatusReport(Struct):
    """Msg_Content of a DELIVER with Registered_Delivery 1 (60 bytes)."""

    layout = (
        Int("msg_id", 8),  # the Msg_Id the ISMG gave in SUBMIT_RESP
        Str("stat", 7),  # DELIVRD, EXPIRED, UNDELIV, REJECTD, MA:xxxx, ...
        Str("submit_time", 10),  # YYMMDDHHMM
        Str("done_time", 10),
        Str("dest_terminal_id", 21),
        Int("smsc_sequence", 4),
    )

    def pack(self):
        return self.pack_body()


CONNECT_STATUS = {
    0: "ok",
    1: "bad message structure (消息结构错)",
    2: "bad Source_Addr: not this ISMG's SP (非法源地址)",
    3: "authentication failed: check the SP id and shared secret (认证错)",
    4: "version too high (版本太高)",
    5: "other error (其他错误)",
}
SUBMIT_RESULT = {
    0: "ok",
    1: "bad message structure",
    2: "bad command",
    3: "repeated sequence id",
    4: "bad message length",
    5: "bad fee code",
    6: "message too long",
    7: "bad service id",
    8: "flow control: try again later",
}
FLOW_CONTROL = 8


# -- framing -------------------------------------------------------------------------------
MAX_LENGTH = HEADER.size + max(cls.max_body() for cls in COMMANDS.values())


def check_header(header):
    """(Total_Length, Command_Id, Sequence_Id) of a 12-byte header; FramingError when the length
    cannot be a CMPP 2.0 PDU (a stream out of step, or not CMPP at all)."""
    total, command_id, sequence_id = HEADER.unpack(header)
    if not HEADER.size <= total <= MAX_LENGTH:
        raise FramingError(f"absurd Total_Length {total} (command 0x{command_id:08x})")
    return total, command_id, sequence_id


def decode(frame):
    """One whole PDU (header included) -> its Pdu object; DecodeError when the body is wrong."""
    total, command_id, sequence_id = check_header(frame[: HEADER.size])
    body = bytes(frame[HEADER.size :])
    if total != len(frame):
        raise FramingError(f"Total_Length {total} but {len(frame)} bytes")
    cls = COMMANDS.get(command_id)
    if cls is None:
        raise DecodeError(f"unknown command 0x{command_id:08x}", command_id, sequence_id, body)
    try:
        return cls.unpack_body(body, sequence_id=sequence_id)
    except ValueError as exc:
        raise DecodeError(f"{cls.__name__}: {exc}", command_id, sequence_id, body) from None


async def read_pdu(reader):
    """The next PDU from an asyncio StreamReader. IncompleteReadError at the end of the stream."""
    header = await reader.readexactly(HEADER.size)
    total, _, _ = check_header(header)
    return decode(header + await reader.readexactly(total - HEADER.size))


# -- CONNECT authentication ----------------------------------------------------------------
def timestamp(moment):
    """The 10 digits MMDDHHMMSS of a datetime (the SP's local time, China time for an ISMG)."""
    return moment.strftime("%m%d%H%M%S")


def authenticator_source(sp_id, secret, stamp):
    """MD5(Source_Addr + 9 zero bytes + shared secret + MMDDHHMMSS)."""
    return hashlib.md5(
        sp_id.encode("ascii") + bytes(9) + secret.encode() + stamp.encode("ascii")
    ).digest()


def authenticator_ismg(status, auth_source, secret):
    """The ISMG's answer: MD5(Status + AuthenticatorSource + shared secret)."""
    return hashlib.md5(bytes([status]) + auth_source + secret.encode()).digest()


def connect_pdu(sp_id, secret, moment, sequence_id):
    stamp = timestamp(moment)
    return Connect(
        sequence_id=sequence_id,
        source_addr=sp_id,
        authenticator_source=authenticator_source(sp_id, secret, stamp),
        version=VERSION,
        timestamp=int(stamp),
    )


# -- Msg_Id --------------------------------------------------------------------------------
class MsgId(NamedTuple):
    """The 8 bytes an ISMG builds: month (4 bits), day (5), hour (5), minute (6), second (6),
    gateway code (22), sequence (16).

    str() is a stable 22-digit string for storage, MMDDHHMMSS + gateway (7) + sequence (5), the
    form other CMPP implementations print (e.g. SMSGate's MsgId.toString()). It is reversible for
    any 64-bit value, so an ISMG that fills the bits its own way still gets distinct, stable ids.
    """

    month: int
    day: int
    hour: int
    minute: int
    second: int
    gateway: int
    sequence: int

    BITS = (4, 5, 5, 6, 6, 22, 16)
    DIGITS = (2, 2, 2, 2, 2, 7, 5)

    def to_int(self):
        value = 0
        for field, bits in zip(self, self.BITS, strict=True):
            if not 0 <= field < 1 << bits:
                raise ValueError(f"Msg_Id field {field} does not fit {bits} bits")
            value = value << bits | field
        return value

    @classmethod
    def from_int(cls, value):
        fields = []
        for bits in reversed(cls.BITS):
            fields.append(value & ((1 << bits) - 1))
            value >>= bits
        return cls(*reversed(fields))

    @classmethod
    def parse(cls, text):
        if len(text) != sum(cls.DIGITS) or not text.isdigit():
            raise ValueError(f"not a CMPP Msg_Id string: {text!r}")
        fields, at = [], 0
        for digits in cls.DIGITS:
            fields.append(int(text[at : at + digits]))
            at += digits
        return cls(*fields)

    def __str__(self):
        return "".join(f"{f:0{d}d}" for f, d in zip(self, self.DIGITS, strict=True))


def msg_id_str(value):
    """The storage string of an 8-byte Msg_Id (an int as the PDUs carry it)."""
    return str(MsgId.from_int(value))


def msg_id_int(text):
    return MsgId.parse(text).to_int()
