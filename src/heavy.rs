//! Heavy work people can start from Slack (a report over a long range, the weekly deep dive on
//! demand): how many run at once in all and per person, and how long one may take. The CPU
//! part of such work runs on tokio's blocking pool (see `analytics::service`), so the threads
//! that answer requests stay free; this limiter keeps one person from queueing many, and the
//! machine from building more than it has cores for.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

/// Why heavy work was not started or not finished.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeavyError {
    #[error("you already have {running} report(s) being built; wait for it to arrive before asking for another")]
    Busy { running: usize },
    #[error("it took longer than {} s and was abandoned; ask for a shorter range", .0.as_secs())]
    Deadline(Duration),
    #[error("vibe is busy building {waiting} other reports; ask again in a minute")]
    Full { waiting: usize },
}

/// Limits on heavy work.
pub struct Limiter {
    global: Arc<Semaphore>,
    per_user: Arc<Mutex<HashMap<String, usize>>>,
    per_user_max: usize,
    /// Most pieces of work admitted at once (running and waiting for a slot).
    admitted_max: usize,
    deadline: Duration,
}

/// One admitted piece of work; its person's count goes down when it is dropped.
pub struct Ticket {
    per_user: Arc<Mutex<HashMap<String, usize>>>,
    user: String,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut g = self.per_user.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = g.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                g.remove(&self.user);
            }
        }
    }
}

impl Limiter {
    /// At most `concurrency` run at once, `queue` more wait for a slot, `per_user` of them
    /// one person's; each within `deadline`.
    pub fn new(concurrency: usize, queue: usize, per_user: usize, deadline: Duration) -> Limiter {
        Limiter {
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            per_user: Arc::new(Mutex::new(HashMap::new())),
            per_user_max: per_user.max(1),
            admitted_max: concurrency.max(1) + queue,
            deadline,
        }
    }

    /// Admits work for `user` at once, or refuses it when they already have their share in
    /// flight. Cheap and synchronous, so a command can be refused inline.
    pub fn admit(&self, user: &str) -> Result<Ticket, HeavyError> {
        let mut g = self.per_user.lock().unwrap_or_else(|p| p.into_inner());
        let admitted: usize = g.values().sum();
        if admitted >= self.admitted_max {
            return Err(HeavyError::Full { waiting: admitted });
        }
        let running = g.entry(user.to_string()).or_insert(0);
        if *running >= self.per_user_max {
            return Err(HeavyError::Busy { running: *running });
        }
        *running += 1;
        Ok(Ticket {
            per_user: self.per_user.clone(),
            user: user.to_string(),
        })
    }

    /// Runs admitted work once a slot is free, within the deadline (waiting included).
    pub async fn run<T>(
        &self,
        ticket: Ticket,
        work: impl Future<Output = T>,
    ) -> Result<T, HeavyError> {
        let limited = async {
            // The semaphore is never closed, so acquiring only waits.
            let _permit = self.global.acquire().await;
            work.await
        };
        let out = tokio::time::timeout(self.deadline, limited)
            .await
            .map_err(|_| HeavyError::Deadline(self.deadline));
        drop(ticket);
        out
    }

    /// Work in flight for `user`.
    pub fn running(&self, user: &str) -> usize {
        let g = self.per_user.lock().unwrap_or_else(|p| p.into_inner());
        g.get(user).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_person_gets_their_share_and_no_more() {
        let l = Limiter::new(2, 8, 1, Duration::from_secs(5));
        let a = l.admit("U1").unwrap();
        assert_eq!(l.admit("U1").err(), Some(HeavyError::Busy { running: 1 }));
        let b = l.admit("U2").unwrap();
        assert_eq!(l.running("U1"), 1);
        assert_eq!(l.run(a, async { 7 }).await, Ok(7));
        assert_eq!(l.running("U1"), 0);
        assert!(
            l.admit("U1").is_ok(),
            "a finished report frees its person's slot"
        );
        drop(b);
        assert_eq!(l.running("U2"), 0);
    }

    #[test]
    fn no_more_than_the_slots_and_the_queue_are_admitted_in_all() {
        let l = Limiter::new(2, 3, 1, Duration::from_secs(5));
        let held: Vec<Ticket> = (0..5).map(|i| l.admit(&format!("U{i}")).unwrap()).collect();
        assert_eq!(l.admit("U9").err(), Some(HeavyError::Full { waiting: 5 }));
        drop(held);
        assert!(l.admit("U9").is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn work_past_its_deadline_is_abandoned_and_frees_its_slot() {
        let l = Limiter::new(1, 8, 1, Duration::from_secs(2));
        let t = l.admit("U1").unwrap();
        let slow = l.run(t, tokio::time::sleep(Duration::from_secs(60))).await;
        assert_eq!(slow, Err(HeavyError::Deadline(Duration::from_secs(2))));
        assert_eq!(l.running("U1"), 0);
        let t = l.admit("U1").unwrap();
        assert_eq!(l.run(t, async { "done" }).await, Ok("done"));
    }

    #[tokio::test(start_paused = true)]
    async fn work_beyond_the_global_limit_waits_for_a_slot() {
        let l = Arc::new(Limiter::new(1, 8, 1, Duration::from_secs(30)));
        let first = l.admit("U1").unwrap();
        let second = l.admit("U2").unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let l1 = l.clone();
        let holder = tokio::spawn(async move { l1.run(first, async { rx.await.ok() }).await });
        tokio::task::yield_now().await;
        let l2 = l.clone();
        let waiter = tokio::spawn(async move { l2.run(second, async { "second" }).await });
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "the second waits while the first holds the slot"
        );
        tx.send(()).unwrap();
        assert!(holder.await.unwrap().is_ok());
        assert_eq!(waiter.await.unwrap(), Ok("second"));
    }
}
