-- A message given up on because it could not be delivered within slack.outbox_lifetime_secs
-- (Slack rate-limiting, failing or unreachable all that time) records when, so health can
-- say so. A notification that can't be turned into messages (its subject is gone, or it
-- can't be rendered) is set aside with its error instead of being tried again forever.
alter table slack_outbox add column gave_up_at bigint;
alter table notifications add column error text;
alter table notifications add column set_aside_at bigint;
