-- Rollups per time zone: each zone in rollup_zones has its own daily rows, a day running from
-- local midnight to local midnight. Rows made before this migration counted UTC days; they
-- become Etc/UTC's. account_daily also records when its follower count was observed, so
-- retention can keep exactly the account snapshots the rollups of every zone are made of.
-- Etc/UTC (the default report.timezone) is always kept; the application adds the zones of
-- its configuration and of digest schedules.
create table rollup_zones (
    zone text primary key,
    added_at bigint not null
);
insert into rollup_zones (zone, added_at) values ('Etc/UTC', 0);

create table post_daily_zoned (
    post_id bigint not null references posts (id) on delete cascade,
    zone text not null,
    day text not null,
    observed_at bigint not null,
    impressions bigint,
    reach bigint,
    views bigint,
    likes bigint,
    comments bigint,
    shares bigint,
    saves bigint,
    clicks bigint,
    primary key (zone, post_id, day)
);
insert into post_daily_zoned
    select post_id, 'Etc/UTC', day, observed_at, impressions, reach, views, likes, comments,
           shares, saves, clicks
    from post_daily;
drop table post_daily;
alter table post_daily_zoned rename to post_daily;
alter table post_daily rename constraint post_daily_zoned_pkey to post_daily_pkey;

create table account_daily_zoned (
    account_id bigint not null references accounts (id) on delete cascade,
    zone text not null,
    day text not null,
    posts_published bigint not null,
    impressions bigint,
    reach bigint,
    views bigint,
    likes bigint,
    comments bigint,
    shares bigint,
    saves bigint,
    clicks bigint,
    followers bigint,
    followers_at bigint,
    primary key (zone, account_id, day)
);
insert into account_daily_zoned
    select a.account_id, 'Etc/UTC', a.day, a.posts_published, a.impressions, a.reach, a.views,
           a.likes, a.comments, a.shares, a.saves, a.clicks, a.followers,
           (select max(s.observed_at) from account_snapshots s
             where s.account_id = a.account_id and s.followers is not null
               and s.observed_at >= cast(extract(epoch from a.day::timestamp) as bigint)
               and s.observed_at < cast(extract(epoch from a.day::timestamp) as bigint) + 86400)
    from account_daily a;
drop table account_daily;
alter table account_daily_zoned rename to account_daily;
alter table account_daily rename constraint account_daily_zoned_pkey to account_daily_pkey;

-- Retention asks whether a snapshot is some zone's last of its day.
create index post_daily_observed on post_daily (post_id, observed_at);
create index account_daily_followers_at on account_daily (account_id, followers_at);
