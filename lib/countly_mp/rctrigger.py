# rctrigger.py - remote config follows device ID and consent changes: admin.py and consent.py
# call follow(), which loads remote_config.py only when it has something to do (values on
# flash, the feature in use, or automatic triggers on), so an app without remote config never
# loads it.


def follow(core, event):
    if ("remote_config" not in core.__dict__ and not core.config.rc_automatic_triggers
            and core.store.read("rc") is None):
        return
    core.remote_config.follow(event)
