-- The Slack adapter's reliability tables (DESIGN.md §8): the outbox of messages to post, the
-- deliveries already seen (Slack retries), and the bearer tokens of the ingestion API.
-- Timestamps are Unix seconds (UTC).

-- Every channel message vibe must post, written in the same transaction as the change that
-- caused it. A worker claims due rows with a lease and records Slack's `ts`.
create table slack_outbox (
    id integer primary key,
    -- Unique per message and sent along as message metadata, so a row whose outcome is unknown
    -- can be found in the channel's history instead of being posted twice.
    key text not null unique,
    -- 'post' (chat.postMessage), 'update' (chat.update) or 'file' (a PNG shared into a thread).
    kind text not null,
    channel text not null,
    -- Replies, files and updates name the row of the message they belong to; they are claimed
    -- only once that message has its ts.
    parent_key text,
    -- JSON: text and blocks, or a file's name, title, alt text and bytes (base64).
    body text not null,
    -- Where to tell the person who asked when delivery fails for good (valid 30 minutes).
    response_url text,
    -- 'pending', 'sending', 'delivered' or 'failed'.
    status text not null,
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    -- A claimed row's worker holds it until then; after that another worker may take it over.
    lease_until bigint,
    -- 1 when a request may have reached Slack without its answer reaching us.
    in_doubt bigint not null default 0,
    ts text,
    -- For files: the id Slack gave the upload, kept so a retry doesn't upload twice.
    file_id text,
    last_error text,
    created_at bigint not null,
    updated_at bigint not null,
    delivered_at bigint
);

create index slack_outbox_due on slack_outbox (status, next_attempt_at);
create index slack_outbox_by_parent on slack_outbox (parent_key);

-- Deliveries Slack may repeat: commands by trigger_id, events by event_id, interactions by
-- their action or view. The first insert wins; a retry finds its row and does nothing.
create table slack_deliveries_seen (
    kind text not null,
    key text not null,
    seen_at bigint not null,
    primary key (kind, key)
);

-- Bearer tokens of the HTTP ingestion API. Only a SHA-256 of each token is kept.
create table api_tokens (
    id integer primary key,
    name text not null unique,
    hash text not null unique,
    -- The token's first characters, to tell tokens apart in listings.
    prefix text not null,
    -- Space-separated: metrics:write, observations:write.
    scopes text not null,
    created_at bigint not null,
    last_used_at bigint,
    revoked_at bigint
);
