"""The automatic reminder runs on beat, as a thin task over notifier.replies.reminders."""


def test_auto_remind_is_scheduled_on_beat_and_registered():
    import workers

    entry = workers.celery.conf.beat_schedule["replies-auto-remind"]
    assert entry["task"] == "replies.auto_remind" and entry["options"]["queue"] == "periodic"
    assert "replies.auto_remind" in workers.celery.tasks
