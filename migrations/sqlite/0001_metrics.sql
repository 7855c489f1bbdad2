-- The metric model: brands, accounts, posts, cumulative snapshots, paid funnel days, and the
-- daily rollups reports read. Timestamps are Unix seconds (UTC); days are 'YYYY-MM-DD' (UTC).
-- Counters are NULL when unknown: missing is not zero.

-- A named set of accounts; channels map to brands so a report shows one brand.
create table brands (
    id integer primary key,
    name text not null unique,
    created_at bigint not null,
    updated_at bigint not null
);

-- An account on one platform. `source` says where it came from ('import', 'demo', 'api'), so
-- `vibe demo` can tell its own data from a team's.
create table accounts (
    id integer primary key,
    platform text not null,
    external_id text not null,
    handle text,
    brand_id bigint references brands (id) on delete set null,
    source text not null default 'import',
    created_at bigint not null,
    updated_at bigint not null,
    unique (platform, external_id)
);

create table posts (
    id integer primary key,
    account_id bigint not null references accounts (id) on delete cascade,
    external_id text not null,
    published_at bigint,
    text text,
    -- Space-separated, lowercased, without '#'.
    hashtags text,
    media_type text,
    -- 1 boosted, 0 organic, NULL unknown.
    paid bigint,
    campaign text,
    category text,
    created_at bigint not null,
    updated_at bigint not null,
    unique (account_id, external_id)
);

create index posts_published on posts (account_id, published_at);

-- Lifetime counters of a post as observed at `observed_at`.
create table post_snapshots (
    post_id bigint not null references posts (id) on delete cascade,
    observed_at bigint not null,
    impressions bigint,
    reach bigint,
    views bigint,
    likes bigint,
    comments bigint,
    shares bigint,
    saves bigint,
    clicks bigint,
    primary key (post_id, observed_at)
) without rowid;

create table account_snapshots (
    account_id bigint not null references accounts (id) on delete cascade,
    observed_at bigint not null,
    followers bigint,
    primary key (account_id, observed_at)
) without rowid;

-- A paid campaign's own figures for one day (not cumulative).
create table funnel_daily (
    id integer primary key,
    platform text not null,
    campaign text not null,
    day text not null,
    account_id bigint references accounts (id) on delete cascade,
    brand_id bigint references brands (id) on delete set null,
    impressions bigint,
    clicks bigint,
    leads bigint,
    conversions bigint,
    revenue_cents bigint,
    spend_cents bigint,
    created_at bigint not null,
    updated_at bigint not null,
    unique (platform, campaign, day)
);

-- Each post's last snapshot of each day: cumulative counters at the end of that day.
create table post_daily (
    post_id bigint not null references posts (id) on delete cascade,
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
    primary key (post_id, day)
) without rowid;

-- What each account gained each day: the sum over its posts of each post's daily delta, posts
-- published that day, and the last follower count seen that day.
create table account_daily (
    account_id bigint not null references accounts (id) on delete cascade,
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
    primary key (account_id, day)
) without rowid;
