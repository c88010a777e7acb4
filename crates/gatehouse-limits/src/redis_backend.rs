//! The Redis backend: every admit is one `EVALSHA` of [`ADMIT_LUA`], which checks every
//! applicable counter and reserves in all of them atomically, using the Redis server's clock for
//! rolling windows (so instances with skewed clocks agree).

use crate::memory::After;
use crate::plan::{Check, Kind, NS_PER_SEC};
use redis::aio::ConnectionManager;
use std::time::Duration;

/// Checks and reserves. KEYS: one per check. ARGV[1] = number of checks, ARGV[2] = reservation
/// id (concurrency member), ARGV[3] = concurrency lease in ms, then four values per check:
/// kind (`x` cool-down, `g` GCRA, `c` calendar counter, `k` concurrency), limit, cost, param
/// (GCRA: period in µs; calendar: TTL in seconds).
///
/// After the checks, four more values: `1` to count a refusal towards the principal's cool-down
/// (then KEYS[1] is the cool-down flag and KEYS[n+1] the rejection counter), the rejections that
/// start one, the window in ms, the cool-down in ms.
///
/// Returns `{0, 0, remaining1, reset_ms1, …}` when admitted, `{index, retry_ms, cooled}` when
/// check `index` (1-based) refused (`retry_ms` = -1: the client computes it; -2: never fits;
/// `cooled` = 1 when this refusal started a cool-down).
pub(crate) const ADMIT_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(ARGV[1])
local lease = tonumber(ARGV[3])
local cb = 3 + n * 4
local newv = {}
local out = {0, 0}
local function refuse(j, retry)
  if ARGV[cb + 1] ~= '1' then return {j, retry, 0} end
  local c = redis.call('INCR', KEYS[n + 1])
  if c == 1 then redis.call('PEXPIRE', KEYS[n + 1], ARGV[cb + 3]) end
  if c >= tonumber(ARGV[cb + 2]) then
    redis.call('DEL', KEYS[n + 1])
    redis.call('SET', KEYS[1], '1', 'PX', ARGV[cb + 4])
    return {j, retry, 1}
  end
  return {j, retry, 0}
end
for j = 1, n do
  local b = 3 + (j - 1) * 4
  local kind = ARGV[b + 1]
  local limit = tonumber(ARGV[b + 2])
  local cost = tonumber(ARGV[b + 3])
  local p = tonumber(ARGV[b + 4])
  local key = KEYS[j]
  if kind == 'x' then
    local ttl = redis.call('PTTL', key)
    if ttl > 0 then return {j, ttl, 0} end
    out[#out + 1] = 0
    out[#out + 1] = 0
  elseif kind == 'g' then
    if limit <= 0 or cost > limit then return refuse(j, -2) end
    local tat = tonumber(redis.call('GET', key) or '0') or 0
    if tat < now then tat = now end
    local nt = tat + cost * p / limit
    local ahead = nt - now
    if ahead > p then return refuse(j, math.ceil((ahead - p) / 1000)) end
    newv[j] = nt
    out[#out + 1] = math.floor((p - ahead) * limit / p)
    out[#out + 1] = math.ceil(ahead / 1000)
  elseif kind == 'c' then
    local used = tonumber(redis.call('GET', key) or '0') or 0
    if cost > limit then return refuse(j, -2) end
    if used + cost > limit then return refuse(j, -1) end
    out[#out + 1] = limit - used - cost
    out[#out + 1] = -1
  elseif kind == 'k' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', math.floor(now / 1000))
    local c = redis.call('ZCARD', key)
    if c + 1 > limit then
      if limit <= 0 then return refuse(j, -2) end
      return refuse(j, 1000)
    end
    out[#out + 1] = limit - c - 1
    out[#out + 1] = 0
  end
end
for j = 1, n do
  local b = 3 + (j - 1) * 4
  local kind = ARGV[b + 1]
  local key = KEYS[j]
  if kind == 'g' then
    local nt = newv[j]
    redis.call('SET', key, string.format('%.0f', nt), 'PX', math.ceil((nt - now) / 1000) + 1000)
  elseif kind == 'c' then
    redis.call('INCRBY', key, ARGV[b + 3])
    if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[b + 4]) end
  elseif kind == 'k' then
    redis.call('ZADD', key, math.floor(now / 1000) + lease, ARGV[2])
    redis.call('PEXPIRE', key, lease)
  end
end
return out
"#;

/// Settles. KEYS: one per check. ARGV[1] = number of checks, ARGV[2] = reservation id, then four
/// values per check: kind, limit, delta (units, may be negative), param (as in the admit script).
pub(crate) const SETTLE_LUA: &str = r#"
local n = tonumber(ARGV[1])
for j = 1, n do
  local b = 2 + (j - 1) * 4
  local kind = ARGV[b + 1]
  local limit = tonumber(ARGV[b + 2])
  local delta = tonumber(ARGV[b + 3])
  local p = tonumber(ARGV[b + 4])
  local key = KEYS[j]
  if kind == 'g' and delta ~= 0 and limit > 0 then
    local tat = tonumber(redis.call('GET', key) or 'x')
    if tat then
      local nt = tat + delta * p / limit
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      if nt > now then
        redis.call('SET', key, string.format('%.0f', nt), 'PX', math.ceil((nt - now) / 1000) + 1000)
      else
        redis.call('DEL', key)
      end
    end
  elseif kind == 'c' and delta ~= 0 then
    redis.call('INCRBY', key, ARGV[b + 3])
    if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, p) end
  elseif kind == 'k' then
    redis.call('ZREM', key, ARGV[2])
  end
end
return 0
"#;

/// Counts a rejection. KEYS[1] = rejection counter, KEYS[2] = cool-down flag. ARGV: max
/// rejections, window ms, cool-down ms. Returns 1 when a cool-down started.
pub(crate) const REJECT_LUA: &str = r#"
if redis.call('PTTL', KEYS[2]) > 0 then return 0 end
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if c >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  return 1
end
return 0
"#;

/// The Redis side: a self-reconnecting connection and the loaded scripts.
pub(crate) struct RedisBackend {
    con: ConnectionManager,
    admit: redis::Script,
    settle: redis::Script,
    reject: redis::Script,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("RedisBackend")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A Redis failure, without detail that could carry the URL or credentials.
#[derive(Debug, Clone)]
pub(crate) struct RedisDown(pub String);

fn down(e: redis::RedisError) -> RedisDown {
    RedisDown(format!("{:?}", e.kind()))
}

/// A refusal by the admit script.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RedisRefusal {
    /// The refusing check; `None`: the principal is cooling down.
    pub index: Option<usize>,
    pub retry_ns: Option<i64>,
    /// The refusal was counted and started a cool-down.
    pub cooldown_started: bool,
}

/// The cool-down flag key of a principal.
pub(crate) fn cool_key(principal: &str) -> String {
    format!("cool|{principal}")
}

impl RedisBackend {
    /// A lazily connecting manager: creation never blocks; the first call connects, and the
    /// manager reconnects by itself after Redis comes back.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<RedisBackend, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("limits.redis_url: invalid ({:?})", e.kind()))?;
        let cfg = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let con = ConnectionManager::new_lazy_with_config(client, cfg)
            .map_err(|e| format!("redis: {:?}", e.kind()))?;
        Ok(RedisBackend {
            con,
            admit: redis::Script::new(ADMIT_LUA),
            settle: redis::Script::new(SETTLE_LUA),
            reject: redis::Script::new(REJECT_LUA),
            prefix: prefix.to_owned(),
            timeout,
        })
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, RedisDown> {
        let mut con = self.con.clone();
        match tokio::time::timeout(self.timeout * 2, inv.invoke_async::<T>(&mut con)).await {
            Ok(r) => r.map_err(down),
            Err(_) => Err(RedisDown("timed out".into())),
        }
    }

    /// One round trip: checks the cool-down flag (when `cooldown`) and every counter.
    #[allow(clippy::too_many_arguments)]
    pub async fn admit(
        &self,
        cooldown: Option<(&str, &crate::config::CooldownConfig)>,
        checks: &[Check],
        member: &str,
        lease_ms: u64,
        cal: &crate::plan::Calendar,
        now: i64,
    ) -> Result<Result<Vec<After>, RedisRefusal>, RedisDown> {
        let mut inv = self.admit.prepare_invoke();
        let n = checks.len() + usize::from(cooldown.is_some());
        inv.arg(n).arg(member).arg(lease_ms);
        if let Some((p, _)) = cooldown {
            inv.key(format!("{}{}", self.prefix, cool_key(p)));
            inv.arg("x").arg(0).arg(0).arg(0);
        }
        for c in checks {
            inv.key(format!("{}{}", self.prefix, c.key));
            let (kind, param) = match c.kind {
                Kind::Gcra { period_ns } => ("g", period_ns / 1000),
                Kind::Calendar { period } => {
                    // Keep a finished period's counter a day longer than its end, for queries.
                    ("c", (cal.end_ns(period) - now) / NS_PER_SEC + 86_400)
                }
                Kind::Concurrent => ("k", 0),
            };
            inv.arg(kind).arg(c.limit).arg(c.cost).arg(param);
        }
        match cooldown {
            Some((p, cfg)) if cfg.count_limit_rejections => {
                inv.key(format!("{}rej|{p}", self.prefix));
                inv.arg(1)
                    .arg(cfg.max_rejections)
                    .arg(cfg.window_secs.saturating_mul(1000))
                    .arg(cfg.duration_secs.saturating_mul(1000));
            }
            _ => {
                inv.arg(0).arg(0).arg(0).arg(0);
            }
        }
        let v: Vec<i64> = self.run(inv).await?;
        let status = v.first().copied().unwrap_or(-1);
        let retry = v.get(1).copied().unwrap_or(0);
        let off = usize::from(cooldown.is_some());
        if status != 0 {
            let idx = usize::try_from(status).ok().and_then(|i| i.checked_sub(1));
            let Some(idx) = idx else {
                return Err(RedisDown("unexpected script reply".into()));
            };
            let retry_ns = match retry {
                -2 => None,
                -1 => checks
                    .get(idx.wrapping_sub(off))
                    .and_then(|c| match c.kind {
                        Kind::Calendar { period } => Some(cal.end_ns(period) - now),
                        _ => None,
                    }),
                ms => Some(ms.saturating_mul(1_000_000)),
            };
            // None index: the cool-down refused.
            let which = if off == 1 && idx == 0 {
                None
            } else {
                Some(idx - off)
            };
            return Ok(Err(RedisRefusal {
                index: which,
                retry_ns,
                cooldown_started: v.get(2).copied() == Some(1),
            }));
        }
        let mut after = Vec::with_capacity(checks.len());
        for (i, c) in checks.iter().enumerate() {
            let at = 2 + (i + off) * 2;
            let remaining = v.get(at).copied().unwrap_or(0);
            let reset_ms = v.get(at + 1).copied().unwrap_or(0);
            let reset_ns = match c.kind {
                Kind::Calendar { period } => cal.end_ns(period) - now,
                _ => reset_ms.saturating_mul(1_000_000),
            };
            after.push(After {
                remaining: u64::try_from(remaining).unwrap_or(0),
                reset_ns,
            });
        }
        Ok(Ok(after))
    }

    /// Applies refunds and extra charges, and releases concurrency, in one round trip.
    pub async fn settle(
        &self,
        adjust: &[crate::memory::Adjust<'_>],
        member: &str,
        cal_ttl: i64,
    ) -> Result<(), RedisDown> {
        if adjust.is_empty() {
            return Ok(());
        }
        let mut inv = self.settle.prepare_invoke();
        inv.arg(adjust.len()).arg(member);
        for a in adjust {
            let c = a.check;
            inv.key(format!("{}{}", self.prefix, c.key));
            let (kind, param) = match c.kind {
                Kind::Gcra { period_ns } => ("g", period_ns / 1000),
                Kind::Calendar { .. } => ("c", cal_ttl),
                Kind::Concurrent => ("k", 0),
            };
            inv.arg(kind).arg(c.limit).arg(a.delta).arg(param);
        }
        let _: i64 = self.run(inv).await?;
        Ok(())
    }

    /// Counts a rejection towards a cool-down; true when one started.
    pub async fn record_rejection(
        &self,
        principal: &str,
        cfg: &crate::config::CooldownConfig,
    ) -> Result<bool, RedisDown> {
        let mut inv = self.reject.prepare_invoke();
        inv.key(format!("{}rej|{principal}", self.prefix));
        inv.key(format!("{}{}", self.prefix, cool_key(principal)));
        inv.arg(cfg.max_rejections)
            .arg(cfg.window_secs.saturating_mul(1000))
            .arg(cfg.duration_secs.saturating_mul(1000));
        let v: i64 = self.run(inv).await?;
        Ok(v == 1)
    }

    /// Reads counters (for `remaining`): raw values, one per key.
    pub async fn read(&self, checks: &[Check]) -> Result<Vec<Option<String>>, RedisDown> {
        let mut con = self.con.clone();
        let mut pipe = redis::pipe();
        for c in checks {
            let key = format!("{}{}", self.prefix, c.key);
            match c.kind {
                Kind::Concurrent => pipe.cmd("ZCARD").arg(key),
                _ => pipe.cmd("GET").arg(key),
            };
        }
        let fut = pipe.query_async::<Vec<redis::Value>>(&mut con);
        let vals = match tokio::time::timeout(self.timeout * 2, fut).await {
            Ok(r) => r.map_err(down)?,
            Err(_) => return Err(RedisDown("timed out".into())),
        };
        Ok(vals
            .into_iter()
            .map(|v| match v {
                redis::Value::BulkString(b) => String::from_utf8(b).ok(),
                redis::Value::Int(i) => Some(i.to_string()),
                _ => None,
            })
            .collect())
    }

    /// `PING`, for health.
    pub async fn ping(&self) -> Result<(), RedisDown> {
        let mut con = self.con.clone();
        let cmd = redis::cmd("PING");
        let fut = cmd.query_async::<String>(&mut con);
        match tokio::time::timeout(self.timeout * 2, fut).await {
            Ok(r) => r.map(|_| ()).map_err(down),
            Err(_) => Err(RedisDown("timed out".into())),
        }
    }
}
