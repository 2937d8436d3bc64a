# test_feedback_receiver.py - feedback widgets end to end against the local receiver over real
# HTTP: the widget list and documents it serves from its fixtures, and the answers it stores
# in its feedback table. Kept apart from the other feedback tests so that their MicroPython
# processes never load the HTTP client (the heap is 128 KiB).

from featkit import real

WIDGETS = [{"_id": "614811419f030e44be07d82f", "type": "nps", "name": "How likely?",
            "tg": ["esp32"]},
           {"_id": "614811419f030e44be07d831", "type": "rating", "name": "Rate us", "tg": []}]
DOC = {"_id": "614811419f030e44be07d82f", "type": "nps", "name": "How likely?",
       "msg": {"mainQuestion": "How likely are you to recommend us?"}}


def test_widgets_documents_and_answers():
    import recv

    recv.set_fixtures(feedback_widgets=WIDGETS, widgets={DOC["_id"]: DOC})
    ly, p = real(manual_sessions=True, app_version="1.4")
    dev = ly.device_id.get()
    widgets = ly.feedback.get_widgets()
    assert [(w.widget_id, w.type, w.tags) for w in widgets] == [
        (WIDGETS[0]["_id"], "nps", ["esp32"]), (WIDGETS[1]["_id"], "rating", [])]
    data = ly.feedback.get_widget_data(widgets[0])
    assert data["msg"]["mainQuestion"] == "How likely are you to recommend us?"
    assert ly.feedback.get_widget_data(widgets[1]) is None  # no document: 404
    assert ly.feedback.report_widget(widgets[0], data, {"rating": 9, "comment": "good"})
    assert ly.feedback.report_widget(widgets[0], data, None)
    assert ly.feedback.record_rating(WIDGETS[1]["_id"], 4, "a@x.io", "nice", True)
    assert ly.flush() == 3  # the widget answers went out as requests of their own
    rows = recv.rows("feedback", device_id=dev)
    assert [(r["type"], r["rating"], r["closed"]) for r in rows] == [
        ("nps", 9, 0), ("nps", None, 1), ("rating", 4, 0)]
    assert rows[0]["comment"] == "good" and rows[0]["platform"] == "TestOS"
    assert rows[0]["app_version"] == "1.4" and rows[0]["widget_id"] == WIDGETS[0]["_id"]
    assert rows[2]["email"] == "a@x.io" and rows[2]["contact_me"] == "true"
    methods = [r["method"] for r in recv.rows("sdk_requests", device_id=dev)]
    assert methods == ["feedback", "nps_widget", "rating_widget"]
