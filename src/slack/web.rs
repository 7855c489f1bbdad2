//! The Slack Web API, through slack-morphism's client, with what slack-morphism leaves to its
//! users: a base URL that may be plain HTTP (a fake Slack, a proxy), a timeout on every call,
//! and errors sorted by what the caller should do about them.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::blocks::Message;

type Connector = SlackClientHyperConnector<HttpsConnector<HttpConnector>>;

/// What went wrong with a Web API call, sorted by what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebError {
    /// HTTP 429: try again after this long.
    #[error("rate limited by Slack; retry after {0:?}")]
    RateLimited(Duration),
    /// Slack answered `ok: false` with this code (`not_in_channel`, `invalid_blocks`, …).
    #[error("Slack answered {code}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Api {
        code: String,
        detail: Option<String>,
    },
    /// A 5xx, a timeout or a broken connection: the request may or may not have taken effect.
    #[error("Slack could not be reached or failed: {0}")]
    Unavailable(String),
    /// An answer vibe can't read, or a request it can't build.
    #[error("unexpected exchange with Slack: {0}")]
    Protocol(String),
}

impl WebError {
    /// Whether the request may have taken effect although vibe didn't learn its result.
    pub fn in_doubt(&self) -> bool {
        matches!(self, WebError::Unavailable(_))
    }

    /// The Slack error code, for `ok: false` answers.
    pub fn code(&self) -> Option<&str> {
        match self {
            WebError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

fn classify(e: SlackClientError) -> WebError {
    match e {
        SlackClientError::RateLimitError(r) => {
            WebError::RateLimited(r.retry_after.unwrap_or(Duration::from_secs(30)))
        }
        SlackClientError::ApiError(a) => WebError::Api {
            detail: a.errors.map(|e| e.join("; ")).filter(|s| !s.is_empty()),
            code: a.code,
        },
        SlackClientError::HttpError(h) if h.status_code.is_server_error() => {
            WebError::Unavailable(format!("HTTP {}", h.status_code))
        }
        SlackClientError::HttpError(h) => WebError::Api {
            code: format!("http_{}", h.status_code.as_u16()),
            detail: None,
        },
        SlackClientError::HttpProtocolError(p) => WebError::Unavailable(format!(
            "connection failed: {}",
            p.cause.map(|c| c.to_string()).unwrap_or_default()
        )),
        SlackClientError::EndOfStream(_) => WebError::Unavailable("connection closed".into()),
        SlackClientError::ProtocolError(p) => WebError::Protocol(p.json_error.to_string()),
        other => WebError::Protocol(other.to_string()),
    }
}

/// A message found in a channel or thread by its outbox key.
#[derive(Debug, Deserialize)]
struct HistoryPage {
    #[serde(default)]
    messages: Vec<HistoryMessage>,
    #[serde(default)]
    has_more: bool,
    response_metadata: Option<HistoryCursor>,
}

#[derive(Debug, Deserialize)]
struct HistoryMessage {
    ts: String,
    // Kept as raw JSON: other apps' metadata payloads may hold numbers or objects, which
    // slack-morphism's string map can't decode.
    metadata: Option<serde_json::Value>,
    #[serde(default)]
    files: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct HistoryCursor {
    next_cursor: Option<String>,
}

/// Every Web API method vibe calls, with the bot scope it needs (None: no scope). The app
/// manifest asks for exactly these scopes, and tests check both against what the code calls.
pub const WEB_API_METHODS: &[(&str, Option<&str>)] = &[
    ("auth.test", None),
    ("chat.postMessage", Some("chat:write")),
    ("chat.update", Some("chat:write")),
    ("conversations.list", Some("channels:read")),
    ("conversations.history", Some("channels:history")),
    ("conversations.replies", Some("channels:history")),
    ("files.getUploadURLExternal", Some("files:write")),
    ("files.completeUploadExternal", Some("files:write")),
    ("usergroups.users.list", Some("usergroups:read")),
    ("users.info", Some("users:read")),
    ("views.open", None),
];

/// The metadata event type vibe marks its messages with.
pub const METADATA_EVENT: &str = "vibe_outbox";

/// Who the bot is, from `auth.test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub team: Option<String>,
    pub user_id: String,
}

/// A Web API client with the bot token.
#[derive(Clone)]
pub struct SlackWeb {
    client: Arc<SlackClient<Connector>>,
    token: Option<SlackApiToken>,
    timeout: Duration,
}

impl std::fmt::Debug for SlackWeb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackWeb")
            .field("token", &"[redacted]")
            .finish()
    }
}

impl SlackWeb {
    /// A client for the Web API at `api_url` (`https://slack.com/api`, or a fake's
    /// `http://127.0.0.1:PORT/api`). Without a token it can still answer `response_url`s.
    pub fn new(
        api_url: &str,
        token: Option<&SecretString>,
        timeout: Duration,
    ) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        let connector = SlackClientHyperConnector::with_connector(https)
            .with_slack_api_url(api_url.trim_end_matches('/'));
        Ok(SlackWeb {
            client: Arc::new(SlackClient::new(connector)),
            token: token
                .map(|t| SlackApiToken::new(SlackApiTokenValue(t.expose_secret().to_string()))),
            timeout,
        })
    }

    /// Whether a bot token is set, so the Web API can be called.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    fn session(&self) -> Result<SlackClientSession<'_, Connector>, WebError> {
        match &self.token {
            Some(t) => Ok(self.client.open_session(t)),
            None => Err(WebError::Api {
                code: "not_configured".into(),
                detail: Some("SLACK_BOT_TOKEN is not set".into()),
            }),
        }
    }

    /// The slack-morphism client, for the Socket Mode listener.
    pub fn client(&self) -> Arc<SlackClient<Connector>> {
        self.client.clone()
    }

    async fn call<T, F>(&self, method: &str, f: F) -> Result<T, WebError>
    where
        F: std::future::Future<Output = ClientResult<T>>,
    {
        let result = match tokio::time::timeout(self.timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(e)),
            Err(_) => Err(WebError::Unavailable(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(WebError::RateLimited(_)) => "rate_limited",
            Err(WebError::Unavailable(_)) => "unavailable",
            Err(_) => "error",
        };
        crate::metrics::inc(
            "vibe_slack_api_calls_total",
            &[("method", method), ("outcome", outcome)],
        );
        if outcome == "rate_limited" {
            crate::metrics::inc("vibe_slack_rate_limited_total", &[("method", method)]);
        }
        result
    }

    /// `chat.postMessage`, marked with `key` in its metadata; returns the message's ts.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        message: &Message,
        key: &str,
    ) -> Result<String, WebError> {
        let mut payload = std::collections::HashMap::new();
        payload.insert("key".to_string(), key.to_string());
        let content = message.content().with_metadata(
            SlackMessageMetadata::new(METADATA_EVENT.into()).with_event_payload(payload),
        );
        let mut req = SlackApiChatPostMessageRequest::new(channel.into(), content)
            .with_unfurl_links(false)
            .with_unfurl_media(false);
        if let Some(ts) = thread_ts {
            req = req.with_thread_ts(ts.into());
        }
        let session = self.session()?;
        let res = self
            .call("chat.postMessage", session.chat_post_message(&req))
            .await?;
        Ok(res.ts.0)
    }

    /// `chat.update` of the message at `ts`, resending all its blocks and text.
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        message: &Message,
    ) -> Result<(), WebError> {
        let req = SlackApiChatUpdateRequest::new(channel.into(), message.content(), ts.into());
        let session = self.session()?;
        self.call("chat.update", session.chat_update(&req))
            .await
            .map(|_| ())
    }

    /// Looks for a message vibe posted with outbox `key`, in the channel's history (or the
    /// thread of `thread_ts`) since `oldest` (Unix seconds). Returns its ts.
    pub async fn find_by_key(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        key: &str,
        oldest: i64,
    ) -> Result<Option<String>, WebError> {
        let found = self
            .scan(channel, thread_ts, oldest, |m| {
                m.metadata.as_ref().is_some_and(|md| {
                    md.get("event_type").and_then(|v| v.as_str()) == Some(METADATA_EVENT)
                        && md.pointer("/event_payload/key").and_then(|v| v.as_str()) == Some(key)
                })
            })
            .await?;
        Ok(found)
    }

    /// Looks for a message in the thread of `thread_ts` that shares file `file_id`.
    pub async fn find_file_share(
        &self,
        channel: &str,
        thread_ts: &str,
        file_id: &str,
        oldest: i64,
    ) -> Result<Option<String>, WebError> {
        self.scan(channel, Some(thread_ts), oldest, |m| {
            m.files
                .iter()
                .any(|f| f.get("id").and_then(|v| v.as_str()) == Some(file_id))
        })
        .await
    }

    async fn scan(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        oldest: i64,
        wanted: impl Fn(&HistoryMessage) -> bool,
    ) -> Result<Option<String>, WebError> {
        let method = if thread_ts.is_some() {
            "conversations.replies"
        } else {
            "conversations.history"
        };
        let oldest = format!("{}.000000", oldest.max(0));
        let mut cursor: Option<String> = None;
        // A few pages: the message, if it exists, was posted minutes ago.
        for _ in 0..5 {
            let mut params: Vec<(&str, Option<String>)> = vec![
                ("channel", Some(channel.to_string())),
                ("oldest", Some(oldest.clone())),
                ("limit", Some("100".to_string())),
                ("include_all_metadata", Some("true".to_string())),
            ];
            if let Some(ts) = thread_ts {
                params.push(("ts", Some(ts.to_string())));
            }
            if let Some(c) = &cursor {
                params.push(("cursor", Some(c.clone())));
            }
            let session = self.session()?;
            let page: HistoryPage = self
                .call(
                    method,
                    session.http_session_api.http_get(method, &params, None),
                )
                .await?;
            if let Some(m) = page.messages.iter().find(|m| wanted(m)) {
                return Ok(Some(m.ts.clone()));
            }
            cursor = page
                .response_metadata
                .and_then(|r| r.next_cursor)
                .filter(|c| !c.is_empty());
            if !page.has_more || cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }

    /// Uploads a file (steps 1 and 2 of upload v2); returns its file id. The file stays
    /// private until [`SlackWeb::share_file`] completes it.
    pub async fn upload_file(
        &self,
        filename: &str,
        bytes: &[u8],
        alt: &str,
    ) -> Result<String, WebError> {
        let session = self.session()?;
        let req = SlackApiFilesGetUploadUrlExternalRequest::new(filename.to_string(), bytes.len())
            .with_alt_txt(super::blocks::truncate(alt, 1000));
        let ticket = self
            .call(
                "files.getUploadURLExternal",
                session.get_upload_url_external(&req),
            )
            .await?;
        let upload = SlackApiFilesUploadViaUrlRequest::new(
            ticket.upload_url.clone(),
            bytes.to_vec(),
            "image/png".to_string(),
        );
        self.call("upload", session.files_upload_via_url(&upload))
            .await?;
        Ok(ticket.file_id.0)
    }

    /// Completes an upload, sharing it into the thread of `thread_ts` in `channel`.
    pub async fn share_file(
        &self,
        file_id: &str,
        title: &str,
        channel: &str,
        thread_ts: &str,
    ) -> Result<(), WebError> {
        let session = self.session()?;
        let req =
            SlackApiFilesCompleteUploadExternalRequest::new(vec![SlackApiFilesComplete::new(
                SlackFileId(file_id.to_string()),
            )
            .with_title(title.to_string())])
            .with_channel_id(channel.into())
            .with_thread_ts(thread_ts.into());
        self.call(
            "files.completeUploadExternal",
            session.files_complete_upload_external(&req),
        )
        .await
        .map(|_| ())
    }

    /// Posts to an interaction's `response_url` (no token needed; valid 30 minutes).
    pub async fn respond(
        &self,
        response_url: &str,
        message: &Message,
        in_channel: bool,
        replace_original: bool,
    ) -> Result<(), WebError> {
        let url: url::Url = response_url
            .parse()
            .map_err(|e| WebError::Protocol(format!("response_url: {e}")))?;
        // slack-morphism's webhook request has no response_type, so it is added beside it.
        let req = WebhookReply {
            inner: SlackApiPostWebhookMessageRequest::new(message.content())
                .with_replace_original(replace_original),
            response_type: if in_channel {
                "in_channel"
            } else {
                "ephemeral"
            },
        };
        let fut = async {
            self.client
                .http_api
                .connector
                .http_post_uri(
                    url,
                    &req,
                    SlackClientApiCallContext {
                        rate_control_params: None,
                        token: None,
                        tracing_span: &tracing::Span::current(),
                        is_sensitive_url: true,
                    },
                )
                .await
                .map(|_: serde_json::Value| ())
        };
        self.call("response_url", fut).await
    }

    /// `views.open`: shows a modal to the person whose command or click gave `trigger_id`
    /// (valid for 3 seconds).
    pub async fn open_view(&self, trigger_id: &str, view: SlackView) -> Result<(), WebError> {
        let req = SlackApiViewsOpenRequest::new(trigger_id.into(), view);
        let session = self.session()?;
        self.call("views.open", session.views_open(&req))
            .await
            .map(|_| ())
    }

    /// `usergroups.users.list`: the user IDs in a user group.
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, WebError> {
        let req = SlackApiUserGroupsUsersListRequest::new(group.into());
        let session = self.session()?;
        let res = self
            .call("usergroups.users.list", session.usergroups_users_list(&req))
            .await?;
        Ok(res.users.into_iter().map(|u| u.0).collect())
    }

    /// `users.info`: a person's time zone (IANA name), if Slack knows it.
    pub async fn user_timezone(&self, user: &str) -> Result<Option<String>, WebError> {
        let req = SlackApiUsersInfoRequest::new(user.into());
        let session = self.session()?;
        let res = self.call("users.info", session.users_info(&req)).await?;
        Ok(res.user.tz)
    }

    /// `conversations.list` over public and private channels, page by page (at most 20 pages of
    /// 200): the ID of the channel called `name`, if vibe can see it.
    pub async fn channel_named(&self, name: &str) -> Result<Option<String>, WebError> {
        let mut cursor: Option<SlackCursorId> = None;
        for _ in 0..20 {
            let req = SlackApiConversationsListRequest::new()
                .with_types(vec![
                    SlackConversationType::Public,
                    SlackConversationType::Private,
                ])
                .with_exclude_archived(true)
                .with_limit(200)
                .opt_cursor(cursor.take());
            let session = self.session()?;
            let page = self
                .call("conversations.list", session.conversations_list(&req))
                .await?;
            if let Some(c) = page
                .channels
                .iter()
                .find(|c| c.name.as_deref() == Some(name))
            {
                return Ok(Some(c.id.0.clone()));
            }
            cursor = page
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.0.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }

    /// `auth.test`: is the token good, and who is the bot.
    pub async fn auth_test(&self) -> Result<BotIdentity, WebError> {
        let session = self.session()?;
        let res = self.call("auth.test", session.auth_test()).await?;
        Ok(BotIdentity {
            team: Some(res.team),
            user_id: res.user_id.0,
        })
    }
}

impl crate::app::Workspace for SlackWeb {
    fn channel_id<'a>(
        &'a self,
        name: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move { self.channel_named(name).await.map_err(|e| e.to_string()) })
    }

    fn signed_in_as(&self) -> futures_util::future::BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            let id = self.auth_test().await.map_err(|e| e.to_string())?;
            Ok(format!(
                "{}{}",
                id.user_id,
                id.team.map(|t| format!(" in {t}")).unwrap_or_default()
            ))
        })
    }
}

#[derive(serde::Serialize)]
struct WebhookReply {
    #[serde(flatten)]
    inner: SlackApiPostWebhookMessageRequest,
    response_type: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_whether_the_request_may_have_happened() {
        let cases = [
            (WebError::RateLimited(Duration::from_secs(3)), false, None),
            (
                WebError::Api {
                    code: "not_in_channel".into(),
                    detail: None,
                },
                false,
                Some("not_in_channel"),
            ),
            (WebError::Unavailable("HTTP 503".into()), true, None),
            (WebError::Protocol("bad json".into()), false, None),
        ];
        for (e, doubt, code) in cases {
            assert_eq!(e.in_doubt(), doubt, "{e}");
            assert_eq!(e.code(), code);
        }
    }
}
