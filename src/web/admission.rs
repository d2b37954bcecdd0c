//! Who may hold a connection: the open connections of one listener, in all and per client
//! address, under their caps. At a cap the connection that has been quiet the longest (no
//! byte either way, no page being made) gives way to the new one; when every open connection
//! is busy, the new one is refused. So connections that sit idle (a slowloris, a forgotten
//! keep-alive) can never keep a reader out, and one address cannot evict everyone else.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// A connection quiet for less than this is never evicted: it may be about to send.
const MIN_QUIET: Duration = Duration::from_millis(100);

/// The caps one listener applies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caps {
    pub total: usize,
    pub per_address: Option<usize>,
}

/// Which cap a new connection met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cap {
    Total,
    PerAddress,
}

impl Cap {
    pub(super) fn name(self) -> &'static str {
        match self {
            Cap::Total => "connections in all",
            Cap::PerAddress => "connections per address",
        }
    }
}

/// One open connection as the table sees it; shared with the task serving it.
#[derive(Debug)]
pub(super) struct Slot {
    id: u64,
    addr: IpAddr,
    /// Milliseconds since the table's epoch at the last byte read or written.
    last_active: AtomicU64,
    /// Requests being answered now.
    in_flight: AtomicU32,
    evicted: AtomicBool,
    /// Signalled when the connection is to be closed at once.
    pub evict: Notify,
    epoch: Instant,
}

impl Slot {
    /// A byte was read or written.
    pub(super) fn touch(&self) {
        self.last_active
            .store(millis(self.epoch), Ordering::Relaxed);
    }

    /// How long the connection has passed without traffic.
    pub(super) fn quiet_for(&self) -> Duration {
        let now = millis(self.epoch);
        Duration::from_millis(now.saturating_sub(self.last_active.load(Ordering::Relaxed)))
    }

    /// Marks a request as being answered until the guard drops.
    pub(super) fn busy(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }

    pub(super) fn is_busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// Whether the connection may be closed for a newcomer: idle, and quiet a moment.
    fn evictable(&self) -> bool {
        !self.is_busy() && self.quiet_for() >= MIN_QUIET
    }
}

/// A request being answered on a connection.
pub(super) struct Busy(Arc<Slot>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

fn millis(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The open connections of one listener.
#[derive(Debug)]
pub(super) struct Table {
    caps: Caps,
    epoch: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    open: usize,
    by_addr: HashMap<IpAddr, Vec<Arc<Slot>>>,
}

/// A connection admitted: its slot, which leaves the table when this drops.
pub(super) struct Ticket {
    pub slot: Arc<Slot>,
    table: Arc<Table>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.slot.evicted.load(Ordering::Relaxed) {
            self.table.lock().remove(&self.slot);
        }
    }
}

/// What admitting a connection did.
pub(super) enum Admitted {
    /// Room was free.
    Free(Ticket),
    /// Room was made by closing the quietest connection at this cap.
    Evicted(Ticket, Cap),
}

impl Table {
    pub(super) fn new(caps: Caps) -> Arc<Table> {
        Arc::new(Table {
            caps,
            epoch: Instant::now(),
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Connections open now.
    pub(super) fn open(&self) -> usize {
        self.lock().open
    }

    /// Admits a connection from `addr`, making room at a cap when a quiet one can give way;
    /// `Err` names the cap when none can.
    pub(super) fn admit(self: &Arc<Self>, addr: IpAddr) -> Result<Admitted, Cap> {
        let mut state = self.lock();
        let mut made_room = None;
        if let Some(cap) = self.caps.per_address {
            let here = state.by_addr.get(&addr).map_or(0, Vec::len);
            if here >= cap {
                let victim = quietest(state.by_addr.get(&addr).into_iter().flatten())
                    .ok_or(Cap::PerAddress)?;
                state.evict(&victim);
                made_room = Some(Cap::PerAddress);
            }
        }
        if state.open >= self.caps.total {
            let victim = quietest(state.by_addr.values().flatten()).ok_or(Cap::Total)?;
            state.evict(&victim);
            made_room = Some(Cap::Total);
        }
        let slot = Arc::new(Slot {
            id: state.next_id,
            addr,
            last_active: AtomicU64::new(millis(self.epoch)),
            in_flight: AtomicU32::new(0),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
            epoch: self.epoch,
        });
        state.next_id += 1;
        state.open += 1;
        state.by_addr.entry(addr).or_default().push(slot.clone());
        let ticket = Ticket {
            slot,
            table: self.clone(),
        };
        Ok(match made_room {
            None => Admitted::Free(ticket),
            Some(cap) => Admitted::Evicted(ticket, cap),
        })
    }
}

/// The evictable connection quiet the longest (the oldest first among equals).
fn quietest<'a>(slots: impl Iterator<Item = &'a Arc<Slot>>) -> Option<Arc<Slot>> {
    slots
        .filter(|s| s.evictable())
        .min_by_key(|s| (s.last_active.load(Ordering::Relaxed), s.id))
        .cloned()
}

impl State {
    fn remove(&mut self, slot: &Slot) {
        if let Some(list) = self.by_addr.get_mut(&slot.addr) {
            if let Some(i) = list.iter().position(|s| s.id == slot.id) {
                list.swap_remove(i);
                self.open -= 1;
            }
            if list.is_empty() {
                self.by_addr.remove(&slot.addr);
            }
        }
    }

    fn evict(&mut self, slot: &Arc<Slot>) {
        slot.evicted.store(true, Ordering::Relaxed);
        self.remove(slot);
        slot.evict.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn ticket(a: Admitted) -> Ticket {
        match a {
            Admitted::Free(t) | Admitted::Evicted(t, _) => t,
        }
    }

    #[test]
    fn at_the_per_address_cap_the_quietest_of_that_address_gives_way() {
        let table = Table::new(Caps {
            total: 100,
            per_address: Some(2),
        });
        let other = ticket(table.admit(addr(9)).unwrap());
        other.slot.last_active.store(0, Ordering::Relaxed);
        let a = ticket(table.admit(addr(2)).unwrap());
        let b = ticket(table.admit(addr(2)).unwrap());
        std::thread::sleep(MIN_QUIET * 2);
        b.slot.touch();
        let c = table.admit(addr(2)).unwrap();
        assert!(matches!(c, Admitted::Evicted(_, Cap::PerAddress)));
        assert!(
            a.slot.evicted.load(Ordering::Relaxed),
            "the quieter one went"
        );
        assert!(!b.slot.evicted.load(Ordering::Relaxed));
        assert!(
            !other.slot.evicted.load(Ordering::Relaxed),
            "another address kept"
        );
        assert_eq!(table.open(), 3);
        drop(a);
        assert_eq!(table.open(), 3, "an evicted slot is not counted twice");
    }

    #[test]
    fn busy_connections_are_never_evicted_and_a_full_table_refuses() {
        let table = Table::new(Caps {
            total: 2,
            per_address: None,
        });
        let a = ticket(table.admit(addr(2)).unwrap());
        let b = ticket(table.admit(addr(3)).unwrap());
        std::thread::sleep(MIN_QUIET * 2);
        let _busy = (a.slot.busy(), b.slot.busy());
        assert_eq!(table.admit(addr(4)).err(), Some(Cap::Total));
        drop(_busy);
        // Just touched by the end of their requests: not yet quiet.
        assert_eq!(table.admit(addr(4)).err(), Some(Cap::Total));
        std::thread::sleep(MIN_QUIET * 2);
        let c = table.admit(addr(4)).unwrap();
        assert!(matches!(c, Admitted::Evicted(_, Cap::Total)));
        drop((a, b));
        assert_eq!(table.open(), 1);
    }
}
