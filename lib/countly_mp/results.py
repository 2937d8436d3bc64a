# results.py - the small value types that remote config and feedback calls hand to the app:
# RequestResult (what a download did), RCData (a remote config value and whose it is) and
# FeedbackWidget (one entry of the widget list). Kept apart from the feature modules, so
# `from countly_mp import RequestResult` does not load remote config.


class RequestResult:
    SUCCESS = "Success"
    ERROR = "Error"
    NETWORK_ISSUE = "NetworkIssue"


class RCData:
    # value: the downloaded JSON value; is_current_users_data: False for a value kept from the
    # previous device ID (rc_value_caching) that was not downloaded again since.
    def __init__(self, value, is_current_users_data=True):
        self.value = value
        self.is_current_users_data = is_current_users_data

    def __eq__(self, other):
        return (isinstance(other, RCData) and self.value == other.value
                and self.is_current_users_data == other.is_current_users_data)

    def __repr__(self):
        return "RCData(%r, %r)" % (self.value, self.is_current_users_data)


class FeedbackWidget:
    # One widget of ly.feedback.get_widgets(): type is "nps", "survey" or "rating"; tags the
    # widget's "tg" list; appearance only when the server sends it (a Lite server does).
    def __init__(self, widget_id, type, name, tags=(), appearance=None):
        self.widget_id = widget_id
        self.type = type
        self.name = name
        self.tags = list(tags)
        self.appearance = appearance

    def __eq__(self, other):
        return isinstance(other, FeedbackWidget) and self.widget_id == other.widget_id

    def __hash__(self):
        return hash(self.widget_id)

    def __repr__(self):
        return "FeedbackWidget(%r, %r, %r)" % (self.widget_id, self.type, self.name)
