# test_server_config_receiver.py - the server configuration and the health check end to end
# against the local receiver over real HTTP: the configuration it serves from its fixtures,
# fetched when the queue is idle and applied, and the health check it records. Kept apart so
# that the other modules' MicroPython processes never load the HTTP client.

from featkit import real


def test_configuration_fetched_applied_and_health_recorded():
    import recv

    recv.set_fixtures(server_config={"v": 2, "c": {"sui": 30, "eqs": 5, "lkl": 64}})
    ly, p = real(app_version="3.0")
    dev = ly.device_id.get()
    recv.fault("500", count=1)  # the begin_session fails once
    assert ly.tick() is False
    p.advance(60000)
    for _ in range(4):
        ly.tick()
    assert ly.pending() == 0 and ly.jobs == []
    assert (ly.config.session_update_interval, ly.config.event_queue_threshold,
            ly.config.max_key_length) == (30, 5, 64)
    assert [r["method"] for r in recv.rows("sdk_requests", device_id=dev)] == ["sc"]
    hc = recv.rows("health_checks", device_id=dev)
    assert len(hc) == 1 and hc[0]["sc"] == 500 and hc[0]["wl"] >= 1 and hc[0]["el"] == 0
    assert "simulated" in hc[0]["em"]
    assert recv.rows("devices", device_id=dev)[0]["metrics"]["_app_version"] == "3.0"
