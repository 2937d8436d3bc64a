# test_feedback.py - feedback widgets and ratings: the widget list (what is kept of it, the
# cap, temporary ID mode), widget documents, the web view URL (never with a checksum), the
# reported answers' exact events and segmentation, sent at once, and star ratings.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from featkit import lines_of
from featkit import events, make, sent

from countly_mp.results import FeedbackWidget

LIST = {"result": [
    {"_id": "w-nps", "type": "nps", "name": "How likely?", "tg": ["esp32"], "extra": "dropped"},
    {"_id": "w-srv", "type": "survey", "name": "Quick survey", "tg": []},
    {"_id": "w-rat", "type": "rating", "name": "Rate us"},
    {"_id": "w-new", "type": "poll", "name": "Unknown kind"}]}


def big_list(size):
    # A widget list of five widgets, about `size` bytes.
    one = b'{"_id":"w","type":"nps","name":"' + b"n" * (size // 5 - 42) + b'","tg":[]}'
    return 200, None, b'{"result":[' + b",".join([one] * 5) + b"]}"


def test_widget_list_keeps_what_a_widget_is():
    opts = {"manual_sessions": True}
    lines = lines_of(opts)
    ly, p, t = make(**opts)
    t.fixtures["feedback"] = LIST
    got = []
    widgets = ly.feedback.get_widgets(lambda *a: got.append(a))
    assert t.side_param(0, "method") == "feedback" and t.side[0][1].startswith("/o/sdk?")
    assert [(w.widget_id, w.type, w.name, w.tags) for w in widgets] == [
        ("w-nps", "nps", "How likely?", ["esp32"]), ("w-srv", "survey", "Quick survey", []),
        ("w-rat", "rating", "Rate us", [])]
    assert widgets[0].appearance is None and not hasattr(widgets[0], "extra")
    assert got == [(widgets, None)]
    assert [x for x in lines if "unknown type" in x]


def test_widget_list_with_a_salt_carries_the_checksum():
    ly, p, t = make(manual_sessions=True, salt="s3cr3t")
    ly.feedback.get_widgets()
    assert "&checksum256=" in t.side[0][1]


def test_temporary_id_mode_lists_no_widgets_without_asking():
    ly, p, t = make(manual_sessions=True, device_id=None, temporary_device_id=True)
    got = []
    assert ly.feedback.get_widgets(lambda *a: got.append(a)) == []
    assert got == [([], None)] and t.side == []
    assert ly.feedback.widget_url(FeedbackWidget("w", "nps", "n")) is None


def test_a_list_over_the_cap_is_refused():
    # The default cap is 4096 bytes; a smaller one keeps this test's answer small enough for
    # a 128 KiB test heap.
    assert make()[0].config.feedback_answer_max == 4096
    opts = {"manual_sessions": True, "feedback_answer_max": 1024}
    lines = lines_of(opts)
    ly, p, t = make(**opts)
    t.side_answers = [big_list(1300)]
    got = []
    assert ly.feedback.get_widgets(lambda *a: got.append(a)) is None
    assert got[0][0] is None and "1024" in got[0][1]
    assert [x for x in lines if "larger than 1024 bytes refused" in x]
    t.side_answers = [big_list(900)]
    assert [len(w.name) for w in ly.feedback.get_widgets()] == [900 // 5 - 42] * 5


def test_no_feedback_consent_no_request():
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=["star-rating"])
    assert ly.feedback.get_widgets() is None
    w = FeedbackWidget("w", "nps", "n")
    assert ly.feedback.get_widget_data(w) is None and ly.feedback.widget_url(w) is None
    assert ly.feedback.report_widget(w, {}, {"rating": 3}) is False
    assert t.side == [] and events(sent(ly, t)) == []


def test_widget_data_is_fetched_from_the_widget_path():
    ly, p, t = make(manual_sessions=True, app_version="2.0")
    doc = {"_id": "w-nps", "type": "nps", "msg": {"mainQuestion": "Recommend us?"}}
    t.fixtures["/o/surveys/nps/widget"] = doc
    got = []
    data = ly.feedback.get_widget_data(FeedbackWidget("w-nps", "nps", "n"),
                                       lambda *a: got.append(a))
    assert data == doc and got == [(doc, None)]
    path = t.side[0][1]
    assert path.startswith("/o/surveys/nps/widget?")
    assert t.side_param(0, "widget_id") == "w-nps" and t.side_param(0, "shown") == "1"
    assert t.side_param(0, "platform") == "TestOS" and t.side_param(0, "app_version") == "2.0"
    assert t.side_param(0, "sdk_version") == "26.1.0" and t.side_param(0, "sdk_name")
    # Not found: None, and the callback says why.
    assert ly.feedback.get_widget_data(FeedbackWidget("nope", "survey", "n"),
                                       lambda *a: got.append(a)) is None
    assert got[1][0] is None and "Widget not found." in got[1][1]


def test_a_lite_servers_rating_widget_comes_from_its_own_path():
    ly, p, t = make(manual_sessions=True)
    t.fixtures["feedback"] = {"result": [{"_id": "r1", "type": "rating", "name": "Rate",
                                          "tg": [], "appearance": {"size": "m"},
                                          "showPolicy": "afterPageLoad"}]}
    t.fixtures["/o/feedback/widget"] = {"_id": "r1", "popup_header_text": "How was it?"}
    w = ly.feedback.get_widgets()[0]
    assert w.appearance == {"size": "m"}
    assert ly.feedback.get_widget_data(w)["popup_header_text"] == "How was it?"
    assert t.side[1][1].startswith("/o/feedback/widget?")


def test_widget_url_has_its_params_and_never_a_checksum():
    ly, p, t = make(manual_sessions=True, salt="s3cr3t", app_version="1.2")
    url = ly.feedback.widget_url(FeedbackWidget("w-srv", "survey", "n"))
    assert url == ("http://127.0.0.1:9/feedback/survey?widget_id=w-srv&device_id=dev1"
                   "&app_key=APPKEY&sdk_version=26.1.0&sdk_name=%s&platform=TestOS"
                   "&app_version=1.2" % ly.sdk_name)
    assert "checksum" not in url and t.side == []
    assert ly.feedback.widget_url(FeedbackWidget("w", "rating", "n")).startswith(
        "http://127.0.0.1:9/feedback/rating?")


def test_feedback_calls_log_at_info():
    opts = {"manual_sessions": True}
    lines = lines_of(opts)
    ly, p, t = make(**opts)
    ly.feedback.get_widgets()
    ly.feedback.record_rating("w", 5)
    assert [x for x in lines if "[Feedback] get_widgets" in x]
    assert [x for x in lines if "[Feedback] record_rating, widget_id=[w], rating=[5]" in x]
    assert json.loads(t.side_param(0, "metrics") or "null") is None  # the list sends none
