//! The in-process counters: the `memory` backend, and the per-instance fallback of `redis`.

use crate::plan::{Calendar, Check, Kind};
use std::collections::HashMap;
use std::sync::Mutex;

/// How often (in admits) expired counters are swept out.
const SWEEP_EVERY: u64 = 4096;

#[derive(Debug, Clone, Copy)]
enum Slot {
    /// GCRA theoretical arrival time, ns.
    Gcra { tat: i64 },
    /// Calendar counter and the end of its period.
    Count { used: u64, expires: i64 },
    /// In-flight requests.
    Conc { n: u64 },
}

/// A check's state after a successful admit: remaining units and time until fully reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct After {
    pub remaining: u64,
    pub reset_ns: i64,
}

/// Why a check refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    /// Index of the check in the list.
    pub index: usize,
    /// When a retry may succeed; `None` when it never can (the request alone exceeds the limit).
    pub retry_ns: Option<i64>,
}

/// A settlement: `delta` units more (positive) or fewer (negative) than were reserved.
#[derive(Debug, Clone)]
pub(crate) struct Adjust<'a> {
    pub check: &'a Check,
    pub delta: i64,
}

#[derive(Debug, Default)]
struct State {
    map: HashMap<String, Slot>,
    ops: u64,
}

/// In-memory counters behind one mutex (an admit holds it for a few hash lookups).
#[derive(Debug, Default)]
pub(crate) struct Memory {
    state: Mutex<State>,
}

fn gcra_increment(period_ns: i64, limit: u64, cost: u64) -> i64 {
    if limit == 0 {
        return i64::MAX;
    }
    let inc = i128::from(cost) * i128::from(period_ns) / i128::from(limit);
    i64::try_from(inc).unwrap_or(i64::MAX)
}

impl Memory {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a counter half-written (every update is a
        // single assignment), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks every counter, and reserves in all of them only if all fit.
    pub fn admit(&self, checks: &[Check], now: i64, cal: &Calendar) -> Result<Vec<After>, Refused> {
        let mut st = self.lock();
        st.ops += 1;
        if st.ops.is_multiple_of(SWEEP_EVERY) {
            st.map.retain(|_, s| match s {
                Slot::Gcra { tat } => *tat > now,
                Slot::Count { expires, .. } => *expires > now,
                Slot::Conc { n } => *n > 0,
            });
        }
        let mut after = Vec::with_capacity(checks.len());
        for (index, c) in checks.iter().enumerate() {
            let slot = st.map.get(&c.key).copied();
            match c.kind {
                Kind::Gcra { period_ns } => {
                    let inc = gcra_increment(period_ns, c.limit, c.cost);
                    if c.limit == 0 || c.cost > c.limit {
                        return Err(Refused {
                            index,
                            retry_ns: None,
                        });
                    }
                    let tat = match slot {
                        Some(Slot::Gcra { tat }) => tat.max(now),
                        _ => now,
                    };
                    let new_tat = tat.saturating_add(inc);
                    let ahead = new_tat - now;
                    if ahead > period_ns {
                        return Err(Refused {
                            index,
                            retry_ns: Some(ahead - period_ns),
                        });
                    }
                    let per_unit = gcra_increment(period_ns, c.limit, 1).max(1);
                    after.push(After {
                        remaining: u64::try_from((period_ns - ahead) / per_unit).unwrap_or(0),
                        reset_ns: ahead,
                    });
                }
                Kind::Calendar { period } => {
                    let used = match slot {
                        Some(Slot::Count { used, .. }) => used,
                        _ => 0,
                    };
                    let end = cal.end_ns(period);
                    if used.saturating_add(c.cost) > c.limit {
                        let retry = (c.cost <= c.limit).then_some(end - now);
                        return Err(Refused {
                            index,
                            retry_ns: retry,
                        });
                    }
                    after.push(After {
                        remaining: c.limit - used - c.cost,
                        reset_ns: end - now,
                    });
                }
                Kind::Concurrent => {
                    let n = match slot {
                        Some(Slot::Conc { n }) => n,
                        _ => 0,
                    };
                    if n + 1 > c.limit {
                        return Err(Refused {
                            index,
                            retry_ns: (c.limit > 0).then_some(crate::plan::NS_PER_SEC),
                        });
                    }
                    after.push(After {
                        remaining: c.limit - n - 1,
                        reset_ns: 0,
                    });
                }
            }
        }
        for c in checks {
            let slot = st.map.get(&c.key).copied();
            let new = match c.kind {
                Kind::Gcra { period_ns } => {
                    let tat = match slot {
                        Some(Slot::Gcra { tat }) => tat.max(now),
                        _ => now,
                    };
                    Slot::Gcra {
                        tat: tat.saturating_add(gcra_increment(period_ns, c.limit, c.cost)),
                    }
                }
                Kind::Calendar { period } => {
                    let used = match slot {
                        Some(Slot::Count { used, .. }) => used,
                        _ => 0,
                    };
                    Slot::Count {
                        used: used.saturating_add(c.cost),
                        expires: cal.end_ns(period),
                    }
                }
                Kind::Concurrent => {
                    let n = match slot {
                        Some(Slot::Conc { n }) => n,
                        _ => 0,
                    };
                    Slot::Conc { n: n + 1 }
                }
            };
            st.map.insert(c.key.clone(), new);
        }
        Ok(after)
    }

    /// Applies a settlement: refunds or extra charges, and releases concurrency.
    pub fn settle(&self, adjust: &[Adjust<'_>], now: i64) {
        let mut st = self.lock();
        for a in adjust {
            let c = a.check;
            match c.kind {
                Kind::Gcra { period_ns } => {
                    if a.delta == 0 || c.limit == 0 {
                        continue;
                    }
                    let step = gcra_increment(period_ns, c.limit, a.delta.unsigned_abs());
                    let entry = st
                        .map
                        .entry(c.key.clone())
                        .or_insert(Slot::Gcra { tat: now });
                    if let Slot::Gcra { tat } = entry {
                        if a.delta > 0 {
                            *tat = (*tat).max(now).saturating_add(step);
                        } else {
                            *tat = tat.saturating_sub(step);
                        }
                    }
                }
                Kind::Calendar { .. } => {
                    if a.delta == 0 {
                        continue;
                    }
                    if let Some(Slot::Count { used, .. }) = st.map.get_mut(&c.key) {
                        if a.delta > 0 {
                            *used = used.saturating_add(a.delta.unsigned_abs());
                        } else {
                            *used = used.saturating_sub(a.delta.unsigned_abs());
                        }
                    }
                }
                Kind::Concurrent => {
                    if let Some(Slot::Conc { n }) = st.map.get_mut(&c.key) {
                        *n = n.saturating_sub(1);
                    }
                }
            }
        }
    }

    /// Adds consumption loaded from the usage store to a calendar counter.
    pub fn load(&self, key: &str, amount: u64, expires: i64) {
        let mut st = self.lock();
        let entry = st
            .map
            .entry(key.to_owned())
            .or_insert(Slot::Count { used: 0, expires });
        if let Slot::Count { used, .. } = entry {
            *used = used.saturating_add(amount);
        }
    }

    /// Current consumption of a counter (calendar: units used; GCRA: units still "in the
    /// window"; concurrency: in flight).
    pub fn used(&self, c: &Check, now: i64) -> u64 {
        let st = self.lock();
        match (c.kind, st.map.get(&c.key)) {
            (Kind::Gcra { period_ns }, Some(Slot::Gcra { tat })) => {
                let per_unit = gcra_increment(period_ns, c.limit, 1).max(1);
                u64::try_from((tat - now).max(0) / per_unit).unwrap_or(0)
            }
            (Kind::Calendar { .. }, Some(Slot::Count { used, .. })) => *used,
            (Kind::Concurrent, Some(Slot::Conc { n })) => *n,
            _ => 0,
        }
    }
}

/// Per-principal cool-down state, in memory.
#[derive(Debug, Default)]
pub(crate) struct Cooldowns {
    map: Mutex<HashMap<String, Cool>>,
}

#[derive(Debug, Default)]
struct Cool {
    /// Times of recent rejections, ns.
    recent: std::collections::VecDeque<i64>,
    until: i64,
}

impl Cooldowns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cool>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remaining cool-down of `principal`, ns, if any.
    pub fn active(&self, principal: &str, now: i64) -> Option<i64> {
        let map = self.lock();
        let c = map.get(principal)?;
        (c.until > now).then_some(c.until - now)
    }

    /// Counts a rejection; returns true when it started a cool-down.
    pub fn record(&self, principal: &str, now: i64, cfg: &crate::config::CooldownConfig) -> bool {
        let window = i64::try_from(cfg.window_secs)
            .unwrap_or(i64::MAX / crate::plan::NS_PER_SEC)
            .saturating_mul(crate::plan::NS_PER_SEC);
        let duration = i64::try_from(cfg.duration_secs)
            .unwrap_or(i64::MAX / crate::plan::NS_PER_SEC)
            .saturating_mul(crate::plan::NS_PER_SEC);
        let mut map = self.lock();
        if map.len() > 100_000 {
            map.retain(|_, c| c.until > now || c.recent.back().is_some_and(|t| now - t < window));
        }
        let c = map.entry(principal.to_owned()).or_default();
        if c.until > now {
            return false;
        }
        while c.recent.front().is_some_and(|t| now - t >= window) {
            c.recent.pop_front();
        }
        c.recent.push_back(now);
        if c.recent.len() >= usize::try_from(cfg.max_rejections).unwrap_or(usize::MAX) {
            c.recent.clear();
            c.until = now.saturating_add(duration);
            return true;
        }
        false
    }
}
