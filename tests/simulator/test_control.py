"""The control API under /_sim/, the accepted log, and the `simulator` command."""

import os
import signal
import socket
import subprocess
import sys
import time

import requests
from click.testing import CliRunner

from notifier.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from notifier.simulator.cli import simulator as simulator_command

from .conftest import assert_twilio_error


def test_config_endpoint_reads_and_changes_settings(sim, api):
    config = requests.get(f"{sim.url}/_sim/config", timeout=5).json()
    assert config["account_sid"] == DEFAULT_ACCOUNT_SID and config["rate_cap"] == 0
    changed = requests.post(
        f"{sim.url}/_sim/config",
        json={"latency_ms": "10-20", "opted_out_numbers": "+8613900000001"},
        timeout=5,
    )
    assert changed.status_code == 200
    assert changed.json()["latency_ms"] == [10, 20]
    assert_twilio_error(api.create(To="+8613900000001", Body="hi"), 400, 21610)


def test_config_endpoint_rejects_bad_options_and_changes_nothing(sim):
    for bad in (
        {"fail_rate": 2},
        {"no_such_option": 1},
        {"latency_ms": "200-100"},
        ["not", "an", "object"],
    ):
        response = requests.post(f"{sim.url}/_sim/config", json=bad, timeout=5)
        assert response.status_code == 400 and response.json()["error"]
    assert sim.simulator.config.current.fail_rate == 0


def test_accepted_log_counts_what_the_gateway_got(sim, api):
    for to, body in [
        ("+8613800000001", "a"),
        ("+8613800000002", "a"),
        ("+8613800000001", "a"),
        ("+8613800000001", "b"),
    ]:
        assert api.create(To=to, Body=body).status_code == 201
    api.create(To="+8613800000001")  # refused: not in the log
    assert sim.count() == 4
    assert sim.count(to="+8613800000001", body="a") == 2
    assert sim.duplicates() == {("+8613800000001", "a"): 2}
    entry = sim.accepted[0]
    assert {"sid", "to", "from", "body", "date_created", "status", "num_segments"} <= set(entry)

    listed = requests.get(
        f"{sim.url}/_sim/messages", params={"to": "+8613800000001", "body": "a"}, timeout=5
    ).json()
    assert listed["count"] == 2 and {m["body"] for m in listed["messages"]} == {"a"}


def test_log_keeps_segments_and_encoding(sim, api):
    api.create(To="+8613800000001", Body="中" * 71)
    api.create(To="+8613800000001", Body="a" * 161)
    assert [(m["num_segments"], m["encoding"]) for m in sim.accepted] == [
        (2, "UCS-2"),
        (2, "GSM-7"),
    ]
    assert sim.stats()["segments_accepted"] == 4


def test_stats_and_reset(sim, api):
    api.create(To="+8613800000001", Body="hi")
    api.create(To="bad", Body="hi")
    api.create(To="+8613800000001", Body="hi", auth=(DEFAULT_ACCOUNT_SID, "wrong"))
    stats = requests.get(f"{sim.url}/_sim/stats", timeout=5).json()
    assert stats["accepted"] == 1 and stats["refused"] == 1 and stats["auth_failures"] == 1
    assert stats["errors"] == {"21211": 1, "20003": 1}
    assert requests.post(f"{sim.url}/_sim/reset", timeout=5).json() == {"reset": True}
    stats = requests.get(f"{sim.url}/_sim/stats", timeout=5).json()
    assert stats["accepted"] == 0 and stats["errors"] == {} and sim.accepted == []
    assert requests.get(f"{sim.url}/_sim/messages", timeout=5).json()["count"] == 0


def test_control_api_errors_are_json(sim):
    response = requests.get(f"{sim.url}/_sim/nothing", timeout=5)
    assert response.status_code == 404 and "error" in response.json()


def test_command_rejects_bad_values():
    result = CliRunner().invoke(simulator_command, ["--port", "0", "--fail-rate", "2"])
    assert result.exit_code == 2 and "fail_rate" in result.output


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_serves_with_the_given_options(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "notifier.simulator",
            "--port",
            str(port),
            "--latency-ms",
            "5-10",
            "--rate-cap",
            "50",
            "--undelivered-numbers",
            "+8613900000001,+8613900000002",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=os.getcwd(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{url}/_sim/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (
                "the simulator did not start"
            )
            time.sleep(0.1)
        config = requests.get(f"{url}/_sim/config", timeout=5).json()
        assert config["latency_ms"] == [5, 10] and config["rate_cap"] == 50
        assert set(config["undelivered_numbers"]) == {"+8613900000001", "+8613900000002"}
        response = requests.post(
            f"{url}/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json",
            data={"To": "+8613800138000", "From": "+15017122661", "Body": "hi"},
            auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN),
            timeout=5,
        )
        assert response.status_code == 201
    finally:
        # SIGTERM, as docker stop sends (SIGINT would be ignored if pytest runs as a background job).
        process.send_signal(signal.SIGTERM)
        try:
            output = process.communicate(timeout=30)[0].decode()
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0].decode()
    assert process.returncode == 0, output
    assert f"127.0.0.1:{port}" in output


def test_inbound_endpoint_lists_a_text_and_posts_it_when_asked(sim, api, receiver):
    sim.configure(inbound_url=f"{receiver.url}/in")
    quiet = requests.post(f"{sim.url}/_sim/inbound", json={"from": "+8613800000001", "to": "+15017122661",
                                                           "body": "1", "post": False}, timeout=5)
    loud = requests.post(f"{sim.url}/_sim/inbound", json={"from": "+8613800000002", "to": "+15017122661",
                                                          "body": "2"}, timeout=5)
    assert quiet.status_code == loud.status_code == 201
    assert quiet.json()["direction"] == "inbound" and quiet.json()["status"] == "received"
    (post,) = receiver.wait_for(1)
    assert post["params"]["MessageSid"] == loud.json()["sid"]
    listed = api.get(api.messages_url, To="+15017122661").json()["messages"]
    assert {m["sid"] for m in listed} == {quiet.json()["sid"], loud.json()["sid"]}
    assert requests.post(f"{sim.url}/_sim/inbound", json={"body": "x"}, timeout=5).status_code == 400
