# test_server_config.py - the server configuration: fetched once per start when the queue is
# idle, stored, applied at the next init before anything uses the options, precedence SDK
# default < app value < server value, queue sizes within what the storage holds, limits,
# invalid values, a damaged stored copy, server_config=False.
# Runs under pytest and under `micropython -X heapsize=128k`.

from featkit import idle
from featkit import make


def boot(c, root=None, **opts):
    # A Countly whose server answers the configuration c, after its init jobs ran.
    lines = []
    opts.setdefault("log_listener", lambda m, lv: lines.append(m))
    ly, p, t = make(root=root, **opts)
    t.fixtures["sc"] = {"v": 2, "t": 1700000000000, "c": c}
    idle(ly, t)
    return ly, p, t, lines


def test_fetched_once_per_start_stored_and_applied_at_once():
    ly, p, t, lines = boot({"sui": 5, "eqs": 2, "lkl": 10, "lvs": 20, "lsv": 3, "lbc": 4,
                            "ltlpt": 6, "ltl": 70})
    assert t.side_methods().count("sc") == 1 and t.side[0][1].startswith("/o/sdk?")
    cfg = ly.config
    assert (cfg.session_update_interval, cfg.event_queue_threshold, cfg.max_key_length,
            cfg.max_value_size, cfg.max_segmentation_values, cfg.max_breadcrumb_count,
            cfg.max_stack_trace_lines_per_thread, cfg.max_stack_trace_line_length) == (
        5, 2, 10, 20, 3, 4, 6, 70)
    ly.events.record("k" * 40, segmentation={"a": "v" * 50, "b": 1, "c": 2, "d": 3})
    ly.events.record("second")  # eqs 2: the batch closes at two events
    assert ly.batcher.count == 0 and ly.pending() == 1  # closed into a request at two
    idle(ly, t)
    assert t.side_methods().count("sc") == 1  # once per start


def test_the_stored_copy_applies_at_the_next_init_before_the_fetch():
    ly, p, t, lines = boot({"sui": 5, "eqs": 2})
    ly.stop()
    del ly, t  # a board restarts with an empty heap; this is the nearest
    ly2, p2, t2 = make(root=p.root)
    assert t2.side == []  # not fetched yet: the stored copy is in force
    assert ly2.config.session_update_interval == 5 and ly2.config.event_queue_threshold == 2
    t2.fixtures["sc"] = {"v": 2, "t": 1700000000001, "c": {"sui": 7}}
    idle(ly2, t2)
    assert ly2.config.session_update_interval == 7  # the fresh copy, in force at once
    assert ly2.config.event_queue_threshold == 100  # no longer sent: the default again
    ly2.stop()
    del ly2, t2
    ly3, p3, t3 = make(root=p.root)
    assert ly3.config.session_update_interval == 7  # the fresh copy was stored


def test_precedence_default_app_server():
    ly, p, t, lines = boot({"sui": 5}, session_update_interval=30, event_flush_interval=9)
    assert ly.config.session_update_interval == 5  # server over app
    assert ly.config.event_flush_interval == 9  # app over default
    assert ly.config.max_key_length == 128  # default
    t.fixtures["sc"] = {"v": 2, "t": 1, "c": {}}
    from countly_mp import jobs

    jobs.add(ly, "sc")
    idle(ly, t)
    assert ly.config.session_update_interval == 30  # the server stopped sending it: app value
    assert "session_update_interval" in ly.config.__dict__


def test_request_queue_size_is_clamped_to_what_the_storage_holds():
    ly, p, t, lines = boot({"rqs": 5})
    assert ly.request_queue.capacity == 5
    ly, p, t, lines = boot({"rqs": 100000})
    assert ly.request_queue.capacity == 1000  # the queue was built for 1000
    assert [x for x in lines if "more than the storage holds: 1000 kept" in x]
    ly, p, t = make()
    ly.request_queue.max_capacity = 3000  # a queue that says what its storage holds
    t.fixtures["sc"] = {"v": 2, "t": 1, "c": {"rqs": 100000}}
    idle(ly, t)
    assert ly.request_queue.capacity == 3000


def test_invalid_values_and_unknown_keys_are_ignored_with_a_line():
    ly, p, t, lines = boot({"sui": -5, "lkl": "10", "tracking": "no", "bom_rqp": 2,
                            "eb": "e", "esb": {"e": "x"}, "filter_preset": "Greylisting",
                            "zz": 1, "ecz": True, "czi": 30})
    assert ly.config.session_update_interval == 60 and ly.config.max_key_length == 128
    bad = [x for x in lines if "invalid value for" in x]
    assert len(bad) == 7, bad
    assert ly.events.record("still")


def test_an_answer_that_is_no_configuration_changes_nothing():
    ly, p, t = make(session_update_interval=30)
    t.side_answers = [(400, None, b'{"result":"Invalid method"}')]
    idle(ly, t)
    assert ly.config.session_update_interval == 30
    assert ly.status()["errors"] == 0  # an older server: a warning, not an error
    assert ly.store.read("sc") is None


def test_a_damaged_stored_copy_is_said_and_dropped():
    ly, p, t, lines = boot({"sui": 5})
    raw = ly.store.read("sc")
    ly.store.write("sc", raw[:-2] + b"9}")
    del ly, t
    got = []
    ly2, p2, t2 = make(root=p.root, log_listener=lambda m, lv: got.append(m))
    assert ly2.config.session_update_interval == 60
    assert [x for x in got if "stored server configuration is damaged" in x]
    assert ly2.store.read("sc") is None


def test_server_config_off_fetches_and_applies_nothing():
    ly, p, t, lines = boot({"sui": 5})
    ly.stop()
    del ly, t
    ly2, p2, t2 = make(root=p.root, server_config=False)
    assert ly2.config.session_update_interval == 60
    assert "sc" not in idle(ly2, t2)


def test_the_documented_examples_run():
    from docex import run_example

    scope = run_example("Server configuration")
    assert scope["config"].server_config is True and scope["fixed"].server_config is False
    ly, p, t = make(manual_sessions=True)
    run_example("Health checks", ly=ly)
    assert run_example("APM", 1)["config"].apm_app_start is True
