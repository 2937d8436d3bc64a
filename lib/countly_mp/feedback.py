# feedback.py - feedback widgets and ratings (ly.feedback): the widgets this device may answer,
# one widget's document, its web page URL, and the answers recorded as the events the
# dashboard reads. A board has no screen of its own: presenting a widget (on a display, or its
# URL on a phone) is the app's part. The calls are in feedbackops.py, loaded for a call and
# dropped after it, so an app that collects a rating now and then keeps only this class.

from .compat import drop_module

_M = "Feedback"


class Feedback:
    def __init__(self, core):
        self._core = core

    def get_widgets(self, callback=None):
        # -> [FeedbackWidget], [] in temporary ID mode, None when the list could not be had;
        # callback(widgets, error).
        return self._op(None, "get_widgets", callback)

    def get_widget_data(self, widget, callback=None):
        # -> the widget's document (dict) or None; callback(data, error).
        return self._op(None, "get_widget_data", widget, callback)

    def widget_url(self, widget):
        # -> the widget's web page for a web view; never with a checksum.
        return self._op(None, "widget_url", widget)

    def report_widget(self, widget, widget_data, result):
        # result: dict of answers, or None when the widget was closed without answering.
        return self._op(False, "report_widget", widget, widget_data, result)

    def record_rating(self, widget_id, rating, email=None, comment=None, contact_me=False):
        return self._op(False, "record_rating", widget_id, rating, email, comment, contact_me)

    def _op(self, failed, name, *args):
        try:
            from . import feedbackops

            return getattr(feedbackops, name)(self._core, *args)
        except Exception as e:  # MemoryError loading the module, above all
            self._core.internal_error(_M, name, e)
            if name in ("get_widgets", "get_widget_data") and args[-1] is not None:
                try:  # the callback still learns the outcome
                    args[-1](None, "out of memory" if isinstance(e, MemoryError)
                             else "internal error")
                except Exception:
                    pass
            return failed
        finally:
            drop_module("feedbackops")
            drop_module("fetch")
            drop_module("instant")
