-- Scheduled runs (DESIGN.md §8): one row per job and scheduled slot, claimed with a lease so
-- that with several replicas each run happens once; a run whose replica died is taken over
-- after its lease runs out.
create table job_runs (
    id integer primary key,
    job text not null,
    -- The scheduled instant (Unix seconds) this run is for.
    slot bigint not null,
    -- 'running', 'done' or 'failed'.
    status text not null,
    -- Which process holds it (host:pid:random).
    owner text not null,
    attempts bigint not null default 1,
    lease_until bigint not null,
    started_at bigint not null,
    finished_at bigint,
    duration_ms bigint,
    error text,
    unique (job, slot)
);

create index job_runs_job on job_runs (job, slot);
