# test_feedback_report.py - feedback answers: the widget types' exact events and segmentation
# (closed widgets included), sent at once, and star ratings clamped to 1..5.
# Runs under pytest and under `micropython -X heapsize=128k`.

from featkit import events, make, sent

from countly_mp.results import FeedbackWidget


def test_reported_answers_are_the_widget_types_event_sent_at_once():
    ly, p, t = make(manual_sessions=True, app_version="3.1")
    nps = FeedbackWidget("w-nps", "nps", "n")
    assert ly.feedback.report_widget(nps, {}, {"rating": 9, "comment": "fine"})
    assert ly.pending() == 1 and ly.batcher.count == 0  # already a request
    assert ly.feedback.report_widget(FeedbackWidget("w-srv", "survey", "n"), {},
                                     {"q1": "ESP32", "q2": "c1"})
    assert ly.feedback.report_widget(FeedbackWidget("w-rat", "rating", "n"), {},
                                     {"rating": 7, "email": "a@x.io", "contactMe": True})
    assert ly.feedback.report_widget(nps, {}, None)  # closed without answering
    reqs = sent(ly, t)
    assert len(reqs) == 4  # one request each: none waited for the batch
    ev = events(reqs)
    base = {"platform": "TestOS", "app_version": "3.1"}
    assert [e["key"] for e in ev] == ["[CLY]_nps", "[CLY]_survey", "[CLY]_star_rating",
                                      "[CLY]_nps"]
    assert ev[0]["segmentation"] == dict(base, widget_id="w-nps", rating=9, comment="fine")
    assert ev[1]["segmentation"] == dict(base, widget_id="w-srv", q1="ESP32", q2="c1")
    assert ev[2]["segmentation"] == dict(base, widget_id="w-rat", rating=5, email="a@x.io",
                                         contactMe=True)  # a rating widget rates 1..5
    assert ev[3]["segmentation"] == dict(base, widget_id="w-nps", closed="1")
    assert all(e["count"] == 1 for e in ev)


def test_report_refuses_what_is_not_a_widget_or_a_result():
    ly, p, t = make(manual_sessions=True)
    w = FeedbackWidget("w", "nps", "n")
    assert ly.feedback.report_widget({"_id": "w", "type": "nps"}, {}, None) is False
    assert ly.feedback.report_widget(FeedbackWidget("w", "poll", "n"), {}, None) is False
    assert ly.feedback.report_widget(w, {}, "great") is False
    assert ly.feedback.report_widget(w, "data", None) is False
    assert ly.pending() == 0


def test_record_rating_clamps_and_needs_a_widget_id():
    ly, p, t = make(manual_sessions=True)
    fb = ly.feedback
    assert fb.record_rating("w1", 0) and fb.record_rating("w1", 9, "a@x.io", "ok", True)
    assert fb.record_rating("w1", 3.7)
    assert fb.record_rating("", 3) is False and fb.record_rating(None, 3) is False
    assert fb.record_rating("w1", "5") is False
    ev = events(sent(ly, t), "[CLY]_star_rating")
    assert [e["segmentation"]["rating"] for e in ev] == [1, 5, 3]
    assert ev[0]["segmentation"] == {"platform": "TestOS", "app_version": "0.0", "rating": 1,
                                     "widget_id": "w1", "contactMe": False}
    assert ev[1]["segmentation"]["email"] == "a@x.io"
    assert ev[1]["segmentation"]["comment"] == "ok" and ev[1]["segmentation"]["contactMe"]


def test_record_rating_needs_star_rating_consent():
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=["feedback"])
    assert ly.feedback.record_rating("w1", 4) is False
    ly.consent.give("star-rating")
    assert ly.feedback.record_rating("w1", 4)
    assert len(events(sent(ly, t), "[CLY]_star_rating")) == 1


def test_the_documented_example_runs():
    from docex import run_example

    ly, p, t = make(manual_sessions=True)
    t.fixtures["feedback"] = {"result": [{"_id": "n1", "type": "nps", "name": "NPS"},
                                         {"_id": "s1", "type": "survey", "name": "Survey"}]}
    t.fixtures["/o/surveys/nps/widget"] = {"_id": "n1", "type": "nps"}
    run_example("Feedback widgets", ly=ly)
    ev = events(sent(ly, t))
    assert [(e["key"], e["segmentation"].get("rating"), e["segmentation"].get("closed"))
            for e in ev] == [("[CLY]_nps", 9, None), ("[CLY]_survey", None, "1"),
                             ("[CLY]_star_rating", 5, None)]
