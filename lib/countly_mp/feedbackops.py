# feedbackops.py - the feedback calls (feedback.py loads this module for a call and drops it
# after). The widget list and documents are fetched in the call (one exchange bounded by
# http_timeout), each answer capped by feedback_answer_max; of the list only _id, type, name,
# tg (and appearance, which a Lite server sends) are kept. Answers are recorded as the
# [CLY]_nps, [CLY]_survey and [CLY]_star_rating events the dashboard reads.

from .compat import is_number
from .results import FeedbackWidget, RequestResult

_M = "Feedback"
_KEYS = " nps=[CLY]_nps survey=[CLY]_survey rating=[CLY]_star_rating "
_OWN = ("platform", "app_version", "widget_id", "closed")  # never dropped to fit a request


def _event_key(kind):
    i = _KEYS.find(" %s=" % kind) if isinstance(kind, str) and " " not in kind else -1
    if i < 0:
        return None
    i += len(kind) + 2
    return _KEYS[i:_KEYS.index(" ", i)]


def _platform(core):
    p = core.platform
    try:
        return p.metrics().get("_os") or p.name
    except Exception:
        return p.name


def _allowed(core, function, consent="feedback"):
    if not core.ready or core._stopped:
        core.log.w(_M, function, "SDK not running, ignored")
        return False
    if not core.consent_has(consent):
        core.log.w(_M, function, "no %s consent, ignored", consent)
        return False
    return True


def _widget(core, function, widget):
    if (isinstance(widget, FeedbackWidget) and isinstance(widget.widget_id, str)
            and widget.widget_id and _event_key(widget.type) is not None):
        return True
    core.log.w(_M, function, "widget must be a FeedbackWidget of get_widgets()")
    return False


def _answer(core, callback, value, error):
    if callback is not None:
        try:
            callback(value, error)
        except Exception as e:  # the app's callback must not break the SDK's state
            core.log.e(_M, "callback", "callback raised %s: %s", type(e).__name__, e)
    return value


def get_widgets(core, callback=None):
    # -> [FeedbackWidget], [] in temporary ID mode, None when the list could not be had.
    try:
        core.log.i(_M, "get_widgets", "callback=%s", callback is not None)
        if not _allowed(core, "get_widgets"):
            return _answer(core, callback, None, "not allowed")
        if core.device_id_type == "TEMPORARY_ID":
            return _answer(core, callback, [], None)  # no widget can be shown to no one
        from .fetch import call

        result, got = call(core, "/o/sdk", [("method", "feedback")],
                           core.config.feedback_answer_max, _M, "get_widgets")
        if result != RequestResult.SUCCESS:
            return _answer(core, callback, None, got)
        listed = got.get("result") if isinstance(got, dict) else None
        if not isinstance(listed, list):
            core.log.e(_M, "get_widgets", "answer is not a widget list")
            return _answer(core, callback, None, "answer is not a widget list")
        got = None
        widgets = []
        for w in listed:
            widget = _parse(w)
            if widget is None:
                core.log.w(_M, "get_widgets", "widget of unknown type or layout skipped")
            else:
                widgets.append(widget)
        return _answer(core, callback, widgets, None)
    except Exception as e:
        core.internal_error(_M, "get_widgets", e)
        return _answer(core, callback, None, "internal error")


def get_widget_data(core, widget, callback=None):
    # The widget's document (its questions, texts, appearance) -> dict, or None.
    try:
        core.log.i(_M, "get_widget_data", "callback=%s", callback is not None)
        if not _allowed(core, "get_widget_data") or not _widget(core, "get_widget_data",
                                                                    widget):
            return _answer(core, callback, None, "not allowed")
        # A Lite server lists rating widgets with their appearance and serves them from
        # /o/feedback/widget (it has no /o/surveys).
        path = "/o/surveys/%s/widget" % widget.type
        if widget.type == "rating" and widget.appearance is not None:
            path = "/o/feedback/widget"
        from .fetch import call

        result, got = call(core, path, [("widget_id", widget.widget_id), ("shown", 1),
                                        ("platform", _platform(core)),
                                        ("app_version", core.config.app_version)],
                           core.config.feedback_answer_max, _M, "get_widget_data")
        if result != RequestResult.SUCCESS:
            return _answer(core, callback, None, got)
        if not isinstance(got, dict):
            core.log.e(_M, "get_widget_data", "answer is not a widget document")
            return _answer(core, callback, None, "answer is not a widget document")
        return _answer(core, callback, got, None)
    except Exception as e:
        core.internal_error(_M, "get_widget_data", e)
        return _answer(core, callback, None, "internal error")


def widget_url(core, widget):
    # The widget's web page for a web view: never with a checksum (the page is public).
    try:
        core.log.i(_M, "widget_url")
        if not _allowed(core, "widget_url") or not _widget(core, "widget_url", widget):
            return None
        if core.device_id_type == "TEMPORARY_ID":
            core.log.w(_M, "widget_url", "temporary device ID: no widget can be shown")
            return None
        from .request import SDK_VERSION
        from .wire import encode_params

        query = encode_params((("widget_id", widget.widget_id), ("device_id", core.current_id),
                               ("app_key", core.config.app_key), ("sdk_version", SDK_VERSION),
                               ("sdk_name", core.sdk_name), ("platform", _platform(core)),
                               ("app_version", core.config.app_version)))
        return "%s/feedback/%s?%s" % (core.server_url, widget.type, bytes(query).decode())
    except Exception as e:
        core.internal_error(_M, "widget_url", e)
        return None


def report_widget(core, widget, widget_data, result):
    # Records the answers (result: dict; None = closed without answering) as the widget
    # type's event, then closes the event batch into a request, so the answer goes out with
    # the next exchange rather than waiting for the batch. -> True when on flash.
    try:
        core.log.i(_M, "report_widget", "closed=%s", result is None)
        if not core.accepting(_M, "report_widget") or not _allowed(core, "report_widget"):
            return False
        if not _widget(core, "report_widget", widget):
            return False
        if result is not None and not isinstance(result, dict):
            core.log.w(_M, "report_widget", "result must be a dict or None, ignored")
            return False
        if widget_data is not None and not isinstance(widget_data, dict):
            core.log.w(_M, "report_widget", "widget_data must be the dict of "
                       "get_widget_data(), ignored")
            return False
        seg = dict(result) if result else {}
        top = 5 if widget.type == "rating" else 10
        rating = seg.get("rating")
        if is_number(rating):
            seg["rating"] = min(max(int(rating), 1 if top == 5 else 0), top)
        seg["platform"] = _platform(core)
        seg["app_version"] = core.config.app_version
        seg["widget_id"] = widget.widget_id
        if result is None:
            seg["closed"] = "1"
        if not core.events.add(_event_key(widget.type), 1, None, None, seg, keep=_OWN):
            return False
        core.safely("feedback events", core.batcher.close)
        return True
    except Exception as e:
        core.internal_error(_M, "report_widget", e)
        return False


def record_rating(core, widget_id, rating, email=None, comment=None, contact_me=False):
    # A rating widget answered by the app's own UI: [CLY]_star_rating, rating clamped to
    # 1..5. -> True when on flash.
    try:
        core.log.i(_M, "record_rating", "widget_id=[%s], rating=[%s]", widget_id, rating)
        if not core.accepting(_M, "record_rating"):
            return False
        if not _allowed(core, "record_rating", "star-rating"):
            return False
        if not isinstance(widget_id, str) or not widget_id:
            core.log.w(_M, "record_rating", "widget_id must be a non-empty string, ignored")
            return False
        if not is_number(rating):
            core.log.w(_M, "record_rating", "rating must be a number, ignored")
            return False
        seg = {"platform": _platform(core), "app_version": core.config.app_version,
               "rating": min(max(int(rating), 1), 5), "widget_id": widget_id,
               "contactMe": contact_me is True}
        if isinstance(email, str) and email:
            seg["email"] = email
        if isinstance(comment, str) and comment:
            seg["comment"] = comment
        return core.events.add("[CLY]_star_rating", 1, None, None, seg, keep=_OWN)
    except Exception as e:
        core.internal_error(_M, "record_rating", e)
        return False


def _parse(w):
    # One entry of the widget list -> FeedbackWidget, or None when it is not one.
    if not isinstance(w, dict):
        return None
    wid, kind, name, tags = w.get("_id"), w.get("type"), w.get("name"), w.get("tg") or []
    if not isinstance(wid, str) or not wid or _event_key(kind) is None:
        return None
    if not isinstance(tags, list):
        tags = []
    appearance = w.get("appearance")
    return FeedbackWidget(wid, kind, name if isinstance(name, str) else "",
                          [t for t in tags if isinstance(t, str)],
                          appearance if isinstance(appearance, dict) else None)
