"""Notifications: the in-app feed (the record of every notification), Web Push delivery with
VAPID, each user's preferences (kinds, quiet hours) and the weekly plan notification on the
athlete's own weekday and time (docs/notifications.md)."""
