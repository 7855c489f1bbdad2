-- Channel digests (DESIGN.md §8): a daily summary or a weekly deep dive posted to a channel on
-- a crontab schedule read in the schedule's own time zone. Added and removed with
-- `/vibe schedule` or `vibe schedule`; each removal is in audit_events.
create table digest_schedules (
    id integer primary key,
    -- 'daily' (compact) or 'weekly' (the deep dive).
    kind text not null,
    -- A crontab expression (minute hour day-of-month month day-of-week).
    cron text not null,
    -- IANA time zone the expression is read in and the digest is dated in.
    timezone text not null,
    -- Slack channel ID the digest is posted to.
    channel text not null,
    -- 'slack:U…' or 'cli'.
    created_by text not null,
    created_at bigint not null,
    unique (kind, channel, cron, timezone)
);
