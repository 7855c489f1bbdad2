-- Each variant's observations summed over periods, per metric, maintained in the same
-- transaction as the observations, so the hourly check reads one row per arm instead of summing
-- every period of every running test.

create table experiment_totals (
    variant_id bigint not null references experiment_variants (id) on delete cascade,
    metric text not null,
    units bigint not null,
    conversions bigint not null,
    value_sum double precision not null,
    value_sum_sq double precision not null,
    exposure double precision not null,
    updated_at bigint not null,
    primary key (variant_id, metric)
);

insert into experiment_totals (variant_id, metric, units, conversions, value_sum, value_sum_sq, exposure, updated_at)
select variant_id, metric, sum(units), sum(coalesce(conversions, 0)), sum(coalesce(value_sum, 0.0)),
       sum(coalesce(value_sum_sq, 0.0)), sum(coalesce(exposure, 0.0)), max(updated_at)
from experiment_observations
group by variant_id, metric;
