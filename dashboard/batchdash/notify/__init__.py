"""Notifications: a job finished, failed or nears expiry, told once to webhooks and by e-mail.

`jobs.announcing.record_events` (called at the end of every refresh of jobs) notes the events
in the registry's outbox; `deliver_pending` sends what is recorded and not sent yet (the watcher
after each round, the Jobs page in the background, the `status` command before it ends).
"""

from batchdash.notify.delivery import deliver_in_background, deliver_pending, send_test

__all__ = ["deliver_in_background", "deliver_pending", "send_test"]
