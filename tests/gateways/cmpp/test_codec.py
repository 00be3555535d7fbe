"""The PDU codec: every PDU of the field table round-trips, sizes match the specification, the
stream framing holds under any chunking and refuses absurd lengths, the CONNECT authenticators
match a worked example computed by hand, and Msg_Ids are what an ISMG builds."""
import asyncio
import hashlib
import string
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.gateways.cmpp import codec
from tests.simulator.cmpp_process import run

ASCII = string.ascii_letters + string.digits + string.punctuation + " "


def field_values(field):
    if isinstance(field, codec.Int):
        return st.integers(0, (1 << (8 * field.size)) - 1)
    if isinstance(field, codec.Str):
        return st.text(ASCII, max_size=field.size)
    if isinstance(field, codec.Octets):
        return st.binary(min_size=field.size, max_size=field.size)
    if isinstance(field, codec.Terminals):
        number = st.text(string.digits, min_size=1, max_size=field.size)
        return st.lists(number, min_size=1, max_size=field.most).map(tuple)
    if isinstance(field, codec.Content):
        return st.binary(max_size=255)
    raise AssertionError(f"no strategy for {field!r}")


def pdus_of(cls):
    fields = {f.name: field_values(f) for f in cls.layout}
    if issubclass(cls, codec.Pdu):
        fields["sequence_id"] = st.integers(0, 0xFFFFFFFF)
    return st.builds(cls, **fields)


any_pdu = st.one_of(*(pdus_of(cls) for cls in codec.COMMANDS.values()))


def test_the_table_has_every_pdu_of_cmpp_2_0():
    assert {cls.__name__ for cls in codec.COMMANDS.values()} == {
        "Connect", "ConnectResp", "Terminate", "TerminateResp", "Submit", "SubmitResp",
        "Deliver", "DeliverResp", "ActiveTest", "ActiveTestResp",
    }
    assert {hex(k) for k in codec.COMMANDS} == {
        "0x1", "0x80000001", "0x2", "0x80000002", "0x4", "0x80000004",
        "0x5", "0x80000005", "0x8", "0x80000008",
    }


@given(any_pdu)
def test_every_pdu_round_trips(pdu):
    frame = pdu.pack()
    assert int.from_bytes(frame[:4], "big") == len(frame)
    assert int.from_bytes(frame[4:8], "big") == pdu.command_id
    assert int.from_bytes(frame[8:12], "big") == pdu.sequence_id
    assert codec.decode(frame) == pdu


@given(pdus_of(codec.Submit))
def test_a_submit_is_as_long_as_the_specification_says(pdu):
    # 12 header + 116 octets before DestUsr_tl + 21 per number + Msg_Length + content + 8
    expected = 12 + 116 + 1 + 21 * len(pdu.dest_terminal_id) + 1 + len(pdu.msg_content) + 8
    assert len(pdu.pack()) == expected


@given(pdus_of(codec.Deliver))
def test_a_deliver_is_as_long_as_the_specification_says(pdu):
    assert len(pdu.pack()) == 12 + 8 + 21 + 10 + 1 + 1 + 1 + 21 + 1 + 1 + len(pdu.msg_content) + 8


@pytest.mark.parametrize(
    "cls, length",
    [
        (codec.Connect, 12 + 6 + 16 + 1 + 4),
        (codec.ConnectResp, 12 + 1 + 16 + 1),
        (codec.SubmitResp, 12 + 8 + 1),
        (codec.DeliverResp, 12 + 8 + 1),
        (codec.ActiveTest, 12),
        (codec.ActiveTestResp, 12 + 1),
        (codec.Terminate, 12),
        (codec.TerminateResp, 12),
    ],
)
def test_fixed_pdus_have_the_specified_length(cls, length):
    assert len(cls().pack()) == length


@given(pdus_of(codec.StatusReport))
def test_a_status_report_is_60_bytes_inside_a_deliver_and_comes_back(report):
    body = report.pack()
    assert len(body) == 8 + 7 + 10 + 10 + 21 + 4
    deliver = codec.decode(codec.Deliver(registered_delivery=1, msg_content=body).pack())
    assert deliver.report == report
    assert codec.Deliver(registered_delivery=0, msg_content=body).report is None


def test_a_submit_written_out_byte_by_byte():
    pdu = codec.Submit(
        sequence_id=7, pk_total=1, pk_number=1, registered_delivery=1, service_id="RDTZ",
        fee_usertype=2, msg_fmt=8, msg_src="901234", feetype="01", feecode="000000",
        src_id="106571234027", dest_terminal_id=("13800138000",), msg_content="你好".encode("utf-16-be"),
    )
    nul = b"\0"
    expected = (
        (163).to_bytes(4, "big") + (4).to_bytes(4, "big") + (7).to_bytes(4, "big")
        + bytes(8)  # Msg_Id
        + b"\x01\x01\x01\x00"  # Pk_total, Pk_number, Registered_Delivery, Msg_level
        + b"RDTZ" + nul * 6  # Service_Id
        + b"\x02" + nul * 21  # Fee_UserType, Fee_terminal_Id
        + b"\x00\x00\x08"  # TP_pId, TP_udhi, Msg_Fmt
        + b"901234" + b"01" + b"000000"  # Msg_src, FeeType, FeeCode
        + nul * 17 + nul * 17  # ValId_Time, At_Time
        + b"106571234027" + nul * 9  # Src_Id
        + b"\x01" + b"13800138000" + nul * 10  # DestUsr_tl, Dest_terminal_Id
        + b"\x04" + bytes.fromhex("4f60597d")  # Msg_Length, Msg_Content
        + nul * 8  # Reserve
    )
    assert pdu.pack() == expected
    assert codec.decode(expected) == pdu


def test_strings_stop_at_the_first_nul_and_refuse_what_does_not_fit():
    frame = bytearray(codec.ConnectResp().pack())
    deliver = bytearray(codec.Deliver(dest_id="1065712345").pack())
    deliver[12 + 8 + 10 : 12 + 8 + 13] = b"\0XY"  # junk after the NUL of Dest_Id
    assert codec.decode(bytes(deliver)).dest_id == "1065712345"
    with pytest.raises(ValueError):
        codec.Connect(source_addr="1234567").pack()
    with pytest.raises(ValueError):
        codec.Submit(dest_terminal_id=()).pack()  # at least one number
    with pytest.raises(ValueError):
        codec.Submit(dest_terminal_id=("1",), msg_content=bytes(256)).pack()
    assert codec.decode(bytes(frame)).status == 0


# -- framing -------------------------------------------------------------------------------
async def _read_all(chunks):
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    out = []
    while True:
        try:
            out.append(await codec.read_pdu(reader))
        except asyncio.IncompleteReadError as exc:
            assert exc.partial == b""  # the stream ended between PDUs
            return out


@given(st.lists(any_pdu, min_size=1, max_size=8), st.lists(st.integers(1, 300), max_size=50))
def test_pdus_come_back_from_a_stream_however_it_is_chunked(pdus, cuts):
    stream = b"".join(p.pack() for p in pdus)
    chunks, at = [], 0
    for cut in cuts:
        chunks.append(stream[at : at + cut])
        at += cut
    chunks.append(stream[at:])
    assert run(_read_all(chunks)) == pdus


@pytest.mark.parametrize("total", [0, 11, codec.MAX_LENGTH + 1, 0xFFFFFFFF])
def test_an_absurd_total_length_is_refused_before_reading_the_body(total):
    header = total.to_bytes(4, "big") + (4).to_bytes(4, "big") + (1).to_bytes(4, "big")
    with pytest.raises(codec.FramingError):
        run(_read_all([header]))


def test_the_longest_possible_submit_still_frames():
    pdu = codec.Submit(dest_terminal_id=("13800138000",) * 100, msg_content=bytes(255))
    assert len(pdu.pack()) == codec.MAX_LENGTH
    assert run(_read_all([pdu.pack()])) == [pdu]


def test_a_bad_body_or_an_unknown_command_leaves_the_stream_in_step():
    unknown = (12 + 3).to_bytes(4, "big") + (0x6).to_bytes(4, "big") + (9).to_bytes(4, "big") + b"abc"
    short = codec.SubmitResp(sequence_id=5).pack()[:-1]
    short = (len(short)).to_bytes(4, "big") + short[4:]
    after = codec.ActiveTest(sequence_id=10)

    async def read():
        reader = asyncio.StreamReader()
        reader.feed_data(unknown + short + after.pack())
        reader.feed_eof()
        errors = []
        for _ in range(2):
            with pytest.raises(codec.DecodeError) as caught:
                await codec.read_pdu(reader)
            errors.append(caught.value)
        return errors, await codec.read_pdu(reader)

    (first, second), pdu = run(read())
    assert (first.command_id, first.sequence_id, first.body) == (0x6, 9, b"abc")
    assert (second.command_id, second.sequence_id) == (codec.SUBMIT | codec.RESPONSE, 5)
    assert pdu == after


def test_a_status_report_of_the_wrong_size_is_a_decode_error():
    deliver = codec.Deliver(registered_delivery=1, msg_content=b"DELIVRD")
    with pytest.raises(codec.DecodeError):
        _ = deliver.report


# -- CONNECT authentication ----------------------------------------------------------------
def test_the_authenticator_against_a_worked_example():
    # SP 901234, secret "1234abcd", 15 March 08:30:00. The MD5 input, written out:
    md5_input = bytes.fromhex(
        "393031323334"  # "901234"
        "000000000000000000"  # 9 zero bytes
        "3132333461626364"  # "1234abcd"
        "30333135303833303030"  # "0315083000"
    )
    # Digests computed outside Python (coreutils md5sum over the bytes above).
    source = bytes.fromhex("e8d147dfdaf95adea3f258d669dc24d6")
    assert hashlib.md5(md5_input).digest() == source
    assert codec.authenticator_source("901234", "1234abcd", "0315083000") == source
    ismg = bytes.fromhex("d047019f23953b13ce256b881a206fb7")  # MD5(00 + source + "1234abcd")
    assert codec.authenticator_ismg(0, source, "1234abcd") == ismg

    pdu = codec.connect_pdu("901234", "1234abcd", datetime(2026, 3, 15, 8, 30, 0), sequence_id=1)
    assert pdu.pack() == (
        bytes.fromhex("00000027" "00000001" "00000001")
        + b"901234" + source + b"\x20" + (315083000).to_bytes(4, "big")
    )


def test_the_timestamp_is_month_day_hour_minute_second():
    assert codec.timestamp(datetime(2026, 12, 1, 23, 5, 9)) == "1201230509"


# -- Msg_Id --------------------------------------------------------------------------------
def test_a_msg_id_packs_its_fields_as_the_ismg_does():
    msg_id = codec.MsgId(month=3, day=15, hour=8, minute=30, second=0, gateway=1234, sequence=42)
    by_hand = (3 << 60) | (15 << 55) | (8 << 50) | (30 << 44) | (0 << 38) | (1234 << 16) | 42
    assert msg_id.to_int() == by_hand
    assert str(msg_id) == "0315083000" "0001234" "00042"
    assert codec.msg_id_str(by_hand) == "0315083000000123400042"
    assert codec.msg_id_int("0315083000000123400042") == by_hand


@given(st.integers(0, (1 << 64) - 1))
def test_any_8_bytes_have_a_stable_reversible_22_digit_string(value):
    text = codec.msg_id_str(value)
    assert len(text) == 22 and text.isdigit()
    assert codec.msg_id_int(text) == value


def test_msg_id_fields_that_do_not_fit_are_refused():
    with pytest.raises(ValueError):
        codec.MsgId(16, 1, 1, 1, 1, 1, 1).to_int()
    with pytest.raises(ValueError):
        codec.MsgId.parse("12345")
