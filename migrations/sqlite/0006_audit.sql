-- Decisions taken from Slack (buttons, and later the optimizer's approvals): who did what to
-- which subject, when, and what came of it. Written in the same transaction as the change.
create table audit_events (
    id integer primary key,
    at bigint not null,
    -- 'slack:U…' for a person in Slack, 'cli', or 'scheduler'.
    actor text not null,
    -- The typed action, e.g. 'test.start' or 'alert.snooze'.
    action text not null,
    -- 'experiment', 'alert', …, and its id.
    subject_kind text not null,
    subject_id bigint not null,
    -- 'done', 'no_change' (already in that state) or 'refused' (missing role).
    outcome text not null,
    detail text,
    created_at bigint not null
);

create index audit_events_subject on audit_events (subject_kind, subject_id);
