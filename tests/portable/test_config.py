# test_config.py - Config validates every option and is the only place that raises.

from countly_mp.config import Config


def _raises(fn):
    try:
        fn()
    except ValueError as e:
        return str(e)
    return None


def test_defaults():
    c = Config("https://c.example.com/", "KEY")
    assert c.url == "https://c.example.com"
    assert c.request_queue_size == 1000 and c.retry_cooldown == 60 and c.http_timeout == 10
    assert c.event_queue_threshold == 100 and c.session_update_interval == 60
    assert c.max_key_length == 128 and c.max_value_size == 256 and c.app_version == "0.0"
    assert "KEY" not in repr(c)


def test_bad_values_raise_with_the_option_name():
    assert "url" in _raises(lambda: Config("ftp://x", "K"))
    assert "url" in _raises(lambda: Config("http://", "K"))
    assert "app_key" in _raises(lambda: Config("http://x", ""))
    assert "app_key" in _raises(lambda: Config("http://x", None))
    assert "request_queue_size" in _raises(lambda: Config("http://x", "K", request_queue_size=0))
    assert "retry_cooldown" in _raises(lambda: Config("http://x", "K", retry_cooldown=-1))
    assert "force_post" in _raises(lambda: Config("http://x", "K", force_post=1))
    assert "session_update_interval" in _raises(
        lambda: Config("http://x", "K", session_update_interval=True))
    assert "nope" in _raises(lambda: Config("http://x", "K", nope=1))
    assert "location_gps" in _raises(lambda: Config("http://x", "K", location_gps="a,b"))
    assert "log_listener" in _raises(lambda: Config("http://x", "K", log_listener=5))


def test_dict_defaults_are_not_shared():
    a = Config("http://x", "K")
    b = Config("http://x", "K")
    a.metrics["x"] = 1
    assert b.metrics == {}
