-- One unresolved alert per condition, enforced by the database so that replicas raising the
-- same condition at once open one alert. Earlier versions could leave a snoozed alert behind
-- when the condition was raised again after the snooze; the older of such pairs is resolved.

update alerts set status = 'resolved', decided_by = 'migration'
where status <> 'resolved'
  and id < (select max(b.id) from alerts b where b.dedupe_key = alerts.dedupe_key and b.status <> 'resolved');

create unique index alerts_one_unresolved on alerts (dedupe_key) where status <> 'resolved';
