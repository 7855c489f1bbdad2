-- Experiments: designs, variants, observations, analyses, the audit trail of every transition,
-- and notifications waiting for Slack. Timestamps are Unix seconds (UTC).

create table experiments (
    id integer primary key,
    name text not null,
    hypothesis text,
    -- 'randomized' (units split at random) or 'content' (organic posts; observational).
    kind text not null,
    -- 'proportion', 'mean' or 'rate'.
    metric_type text not null,
    target_metric text not null,
    higher_is_better bigint not null,
    alpha double precision not null,
    power double precision not null,
    -- Baseline rate or mean of the control, and its standard deviation for mean metrics.
    baseline double precision not null,
    baseline_sd double precision,
    -- Minimum detectable effect and minimum effect worth shipping, both relative (0.05 = 5%).
    mde double precision not null,
    min_effect double precision not null,
    -- N*: planned units (posts for content tests, exposure for rates) over all arms.
    planned_units bigint not null,
    -- Expected units per day over all arms, and the planned duration that follows.
    daily_traffic double precision,
    planned_days bigint,
    -- 'draft', 'running', 'stopped' or 'concluded'.
    status text not null,
    start_at bigint,
    started_at bigint,
    ended_at bigint,
    verdict text,
    channel_id text,
    created_by text not null,
    created_at bigint not null,
    updated_at bigint not null
);

create index experiments_status on experiments (status);

-- Arms in order: position 0 is the control.
create table experiment_variants (
    id integer primary key,
    experiment_id bigint not null references experiments (id) on delete cascade,
    position bigint not null,
    name text not null,
    weight double precision not null,
    text text,
    hashtags text,
    media_type text,
    created_at bigint not null,
    updated_at bigint not null,
    unique (experiment_id, position),
    unique (experiment_id, name)
);

-- The organic posts that realise a content test's variant.
create table experiment_variant_posts (
    variant_id bigint not null references experiment_variants (id) on delete cascade,
    post_id bigint not null references posts (id) on delete cascade,
    created_at bigint not null,
    primary key (variant_id, post_id)
);

-- Metrics that must not get worse.
create table experiment_guardrails (
    id integer primary key,
    experiment_id bigint not null references experiments (id) on delete cascade,
    name text not null,
    metric_type text not null,
    higher_is_better bigint not null,
    created_at bigint not null,
    unique (experiment_id, name)
);

-- Sufficient statistics per variant, metric ('primary' or a guardrail's name) and period. A
-- period's row is that period's own increment; the analysis sums the periods.
create table experiment_observations (
    variant_id bigint not null references experiment_variants (id) on delete cascade,
    metric text not null,
    period text not null,
    units bigint not null,
    conversions bigint,
    value_sum double precision,
    value_sum_sq double precision,
    exposure double precision,
    created_at bigint not null,
    updated_at bigint not null,
    primary key (variant_id, metric, period)
);

-- Each analysis the engine ran, with its result as JSON.
create table experiment_analyses (
    id integer primary key,
    experiment_id bigint not null references experiments (id) on delete cascade,
    analysed_at bigint not null,
    units bigint not null,
    verdict text not null,
    body text not null,
    created_at bigint not null
);

create index experiment_analyses_by_experiment on experiment_analyses (experiment_id, analysed_at);

-- The audit trail: every transition, who made it and why.
create table experiment_events (
    id integer primary key,
    experiment_id bigint not null references experiments (id) on delete cascade,
    at bigint not null,
    actor text not null,
    from_status text,
    to_status text not null,
    note text,
    created_at bigint not null
);

-- Messages for the team, written with the change that caused them; Slack delivery picks them up.
create table notifications (
    id integer primary key,
    kind text not null,
    subject_id bigint not null,
    body text not null,
    created_at bigint not null,
    delivered_at bigint
);
