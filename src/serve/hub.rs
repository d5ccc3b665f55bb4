//! What the follower publishes at each interval and the server hands out:
//! the latest snapshot, both expositions and the state, plus a bounded
//! broadcast of snapshots for the event streams. Publishing never waits on
//! a client.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::state::State;

/// Snapshots queued for a slow event-stream client; older ones are
/// dropped for it, never buffered.
pub const EVENT_QUEUE: usize = 8;

/// Event-stream clients served at once; more get 503.
pub const MAX_EVENT_CLIENTS: usize = 64;

/// One interval's figures.
#[derive(Clone, Default)]
pub struct Published {
    /// The snapshot, as one line of JSON.
    pub snapshot: Arc<str>,
    /// `/metrics` in the Prometheus text format.
    pub metrics: Arc<str>,
    /// `/metrics` in OpenMetrics.
    pub open_metrics: Arc<str>,
    /// Everything read since start, for `/report.html`.
    pub state: Option<Arc<State>>,
}

/// Shared between the follower and the server.
pub struct Hub {
    latest: Mutex<Published>,
    published_at: Mutex<Option<Instant>>,
    events: broadcast::Sender<Arc<str>>,
    clients: AtomicUsize,
    following: AtomicBool,
}

impl Hub {
    /// A hub with nothing published yet, following.
    pub fn new() -> Arc<Hub> {
        let (events, _) = broadcast::channel(EVENT_QUEUE);
        Arc::new(Hub {
            latest: Mutex::new(Published::default()),
            published_at: Mutex::new(None),
            events,
            clients: AtomicUsize::new(0),
            following: AtomicBool::new(true),
        })
    }

    /// Makes `published` the latest and sends its snapshot to every event
    /// stream.
    pub fn publish(&self, published: Published) {
        let snapshot = Arc::clone(&published.snapshot);
        if let Ok(mut latest) = self.latest.lock() {
            *latest = published;
        }
        if let Ok(mut at) = self.published_at.lock() {
            *at = Some(Instant::now());
        }
        // No receiver is not an error: nobody is listening.
        let _ = self.events.send(snapshot);
    }

    /// The latest figures.
    pub fn latest(&self) -> Published {
        self.latest.lock().map(|latest| latest.clone()).unwrap_or_default()
    }

    /// How long ago figures were last published, if ever.
    pub fn since_published(&self) -> Option<Duration> {
        self.published_at.lock().ok().and_then(|at| at.map(|at| at.elapsed()))
    }

    /// Following has stopped: `/healthz` says so.
    pub fn stop(&self) {
        self.following.store(false, Ordering::Relaxed);
    }

    /// Whether the inputs are being followed.
    pub fn following(&self) -> bool {
        self.following.load(Ordering::Relaxed)
    }

    /// A place for one more event-stream client, if there is one.
    pub fn subscribe(self: &Arc<Hub>) -> Option<Subscription> {
        let taken = self
            .clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_EVENT_CLIENTS).then_some(n + 1));
        taken.ok().map(|_| Subscription { receiver: self.events.subscribe(), place: Place(Arc::clone(self)) })
    }
}

/// One event-stream client: its queue and its place.
pub struct Subscription {
    /// Snapshots as they are published.
    pub receiver: broadcast::Receiver<Arc<str>>,
    /// Held while the client is served.
    pub place: Place,
}

/// A client's place among [`MAX_EVENT_CLIENTS`], given back when dropped.
pub struct Place(Arc<Hub>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_that_never_reads_loses_old_snapshots_and_never_holds_up_publishing() {
        let hub = Hub::new();
        let mut slow = hub.subscribe().unwrap();
        for i in 0..100 {
            hub.publish(Published { snapshot: format!("{i}").into(), ..Published::default() });
        }
        // It skipped what it could not keep, and reads on from the newest.
        assert!(matches!(slow.receiver.try_recv(), Err(broadcast::error::TryRecvError::Lagged(92))));
        assert_eq!(&*slow.receiver.try_recv().unwrap(), "92");
        assert_eq!(&*hub.latest().snapshot, "99");
    }

    #[test]
    fn event_clients_are_capped_and_give_their_place_back() {
        let hub = Hub::new();
        let held: Vec<Subscription> = (0..MAX_EVENT_CLIENTS).map(|_| hub.subscribe().unwrap()).collect();
        assert!(hub.subscribe().is_none());
        drop(held);
        assert!(hub.subscribe().is_some());
    }
}
