-- Alerts raised by the detectors, with their lifecycle: open → acknowledged | snoozed | resolved.
-- The same condition (dedupe key) can't be open twice.

create table alerts (
    id integer primary key,
    -- 'performance_drop', 'viral_post', 'low_engagement', 'high_cost_per_lead'.
    kind text not null,
    -- 'info', 'warning' or 'critical'.
    severity text not null,
    subject text not null,
    -- The account the alert is about, when it is about one.
    account_id bigint references accounts (id) on delete cascade,
    dedupe_key text not null,
    message text not null,
    -- JSON: the numbers behind the alert.
    evidence text not null,
    status text not null,
    opened_at bigint not null,
    snoozed_until bigint,
    decided_by text,
    created_at bigint not null,
    updated_at bigint not null
);

create index alerts_by_key on alerts (dedupe_key, status);
create index alerts_by_status on alerts (status, opened_at);

-- Every report generated, as the JSON the renderers read, so a past report can be shown again.
create table reports (
    id integer primary key,
    kind text not null,
    brand text,
    platform text,
    period_from text not null,
    period_to text not null,
    generated_at bigint not null,
    body text not null,
    created_at bigint not null
);

create index reports_by_period on reports (period_to, kind);
