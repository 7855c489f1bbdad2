//! Who may do what from Slack. Everyone is a viewer; the analyst, approver and admin roles are
//! given in config to Slack user IDs and user groups, whose members are looked up with
//! `usergroups.users.list` and remembered for a while. An admin has every role.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::web::SlackWeb;
use crate::config::RoleSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads reports, results and alerts: everyone.
    Viewer,
    /// Creates, starts and stops tests; acknowledges and snoozes alerts.
    Analyst,
    /// Approves or rejects the optimizer's proposals.
    Approver,
    /// Schedules, brands and rules; has every role.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

/// The config entries (user or group IDs) that grant `role`.
pub fn holders(settings: &RoleSettings, role: Role) -> Vec<&str> {
    let own: &[String] = match role {
        Role::Viewer => return Vec::new(),
        Role::Analyst => &settings.analyst,
        Role::Approver => &settings.approver,
        Role::Admin => &[],
    };
    own.iter()
        .chain(&settings.admin)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A user-group ID (S…), as opposed to a user ID (U…, W…).
pub fn is_group(id: &str) -> bool {
    id.starts_with('S')
}

/// Why a role couldn't be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("can't look up the members of user group {group}: {why}")]
pub struct LookupError {
    pub group: String,
    pub why: String,
}

/// Role checks with a cache of group members.
pub struct Roles {
    settings: RoleSettings,
    groups: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl Roles {
    pub fn new(settings: RoleSettings) -> Roles {
        Roles {
            settings,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `user` has `role`: named directly, or a member of a named group.
    pub async fn has(&self, web: &SlackWeb, user: &str, role: Role) -> Result<bool, LookupError> {
        let holders = holders(&self.settings, role);
        if role == Role::Viewer || holders.contains(&user) {
            return Ok(true);
        }
        let mut first_error = None;
        for group in holders.into_iter().filter(|h| is_group(h)) {
            match self.members(web, group).await {
                Ok(members) if members.iter().any(|m| m == user) => return Ok(true),
                Ok(_) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // Not found anywhere that could be read: if a group couldn't be read, say so rather
        // than refuse someone who may well be in it.
        match first_error {
            Some(e) => Err(e),
            None => Ok(false),
        }
    }

    async fn members(&self, web: &SlackWeb, group: &str) -> Result<Vec<String>, LookupError> {
        let ttl = Duration::from_secs(self.settings.group_cache_secs);
        if let Some((at, members)) = self.lock().get(group) {
            if at.elapsed() < ttl {
                return Ok(members.clone());
            }
        }
        let members = web
            .usergroup_members(group)
            .await
            .map_err(|e| LookupError {
                group: group.to_string(),
                why: e.to_string(),
            })?;
        self.lock()
            .insert(group.to_string(), (Instant::now(), members.clone()));
        Ok(members)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Vec<String>)>> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RoleSettings {
        RoleSettings {
            analyst: vec!["U0ANALYST".into(), "S0ANALYSTS".into()],
            approver: vec!["U0APPROVER".into()],
            admin: vec!["U0ADMIN".into(), " ".into()],
            group_cache_secs: 300,
        }
    }

    #[test]
    fn admins_hold_every_role_and_viewers_need_no_entry() {
        let s = settings();
        let cases: [(Role, &[&str]); 4] = [
            (Role::Viewer, &[]),
            (Role::Analyst, &["U0ANALYST", "S0ANALYSTS", "U0ADMIN"]),
            (Role::Approver, &["U0APPROVER", "U0ADMIN"]),
            (Role::Admin, &["U0ADMIN"]),
        ];
        for (role, want) in cases {
            assert_eq!(holders(&s, role), want, "{role:?}");
        }
    }

    #[tokio::test]
    async fn direct_entries_need_no_lookup() {
        // No token and an unreachable API: only a group lookup would fail.
        let web = SlackWeb::new("http://127.0.0.1:9/api", None, Duration::from_millis(200))
            .expect("client");
        let roles = Roles::new(RoleSettings {
            analyst: vec!["U0ANALYST".into()],
            ..settings()
        });
        let cases = [
            ("U0ANALYST", Role::Analyst, Some(true)),
            ("U0ADMIN", Role::Analyst, Some(true)),
            ("U0ADMIN", Role::Admin, Some(true)),
            ("U0ANALYST", Role::Admin, Some(false)),
            ("U0APPROVER", Role::Analyst, Some(false)),
            ("U0NOBODY", Role::Viewer, Some(true)),
        ];
        for (user, role, want) in cases {
            assert_eq!(
                roles.has(&web, user, role).await.ok(),
                want,
                "{user} {role:?}"
            );
        }
        // With a group in the list, someone not named directly can't be decided offline.
        let with_group = Roles::new(settings());
        let e = with_group
            .has(&web, "U0NOBODY", Role::Analyst)
            .await
            .unwrap_err();
        assert_eq!(e.group, "S0ANALYSTS");
    }
}
