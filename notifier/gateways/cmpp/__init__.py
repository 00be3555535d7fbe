"""China Mobile's CMPP 2.0, the protocol of an ISMG or a 云MAS account.

    codec.py    the PDUs (one field table), framing, the CONNECT authenticators, Msg_Id
    text.py     message content: UCS-2 parts with the 05 00 03 header, decoding replies, reassembly
    numbers.py  terminal ids (11 digits out, E.164 in) and Src_Id = access number + extension
    session.py  an asyncio client session to an ISMG (no database): window, keep-alive, reconnect
    events.py   what a session says: submit outcomes, status reports and replies

No well-kept Python library covers CMPP 2.0, so this is hand-written, kept in this package, and
property-tested (tests/gateways/cmpp). The simulator (notifier/simulator/cmpp) shares the codec.
"""
