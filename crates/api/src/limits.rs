//! Rate limits on the unauthenticated doors (login, registration), per
//! client IP and per phone number: token buckets (GCRA) that refill over
//! their period. A password is limited by its wrong guesses only: a phone
//! with too many recent ones is refused, and a right password clears its
//! count, so that signing in on every launch never locks anyone out. A
//! refused call answers 429 `rate_limited` with `Retry-After`. Limits live
//! in this process's memory: a restart forgets them, and several processes
//! each keep their own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;
use timebank_kernel::Code;

/// Limits as configured: `login_ip=60/min,login_phone=10/h,...`, or `off`.
pub const DEFAULT_RATE_LIMITS: &str =
    "login_ip=60/min,login_phone=10/h,register_ip=30/min,register_phone=5/h";

/// Above this many tracked keys, keys whose buckets are full are forgotten.
const PRUNE_ABOVE: usize = 10_000;

type Limiter = Option<DefaultKeyedRateLimiter<String>>;

pub struct RateLimits {
    login_ip: Limiter,
    login_phone: Option<Guesses>,
    register_ip: Limiter,
    register_phone: Limiter,
}

/// Wrong guesses per phone, as a GCRA of its own: `burst` of them at once,
/// then one more every `interval`. Each phone keeps the moment its bucket
/// is empty again; a right guess forgets it.
pub struct Guesses {
    burst: u32,
    interval: Duration,
    empty_at: Mutex<HashMap<String, Instant>>,
}

impl Guesses {
    fn new(burst: u32, period: Duration) -> Self {
        Self {
            burst,
            interval: period / burst,
            empty_at: Mutex::new(HashMap::new()),
        }
    }

    /// How long this phone must wait before it may guess again, if at all.
    fn wait(&self, phone: &str, now: Instant) -> Option<Duration> {
        let map = self.empty_at.lock().ok()?;
        let empty_at = *map.get(phone)?;
        let tolerance = self.interval * (self.burst - 1);
        let ahead = empty_at.checked_duration_since(now)?;
        ahead.checked_sub(tolerance).filter(|d| !d.is_zero())
    }

    fn wrong(&self, phone: &str, now: Instant) {
        let Ok(mut map) = self.empty_at.lock() else {
            return;
        };
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, at| *at > now);
        }
        let at = map.entry(phone.to_owned()).or_insert(now);
        *at = (*at).max(now) + self.interval;
    }

    /// Gives back a guess that was not one (the request failed otherwise).
    fn refund(&self, phone: &str) {
        if let Ok(mut map) = self.empty_at.lock()
            && let Some(at) = map.get_mut(phone)
        {
            *at = at.checked_sub(self.interval).unwrap_or(*at);
        }
    }

    fn right(&self, phone: &str) {
        if let Ok(mut map) = self.empty_at.lock() {
            map.remove(phone);
        }
    }
}

/// Refusals that mean a secret was guessed wrong.
fn is_wrong_guess(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidCredentials | Code::InvalidResetCode | Code::WrongPassword
    )
}

impl RateLimits {
    pub fn off() -> Self {
        Self {
            login_ip: None,
            login_phone: None,
            register_ip: None,
            register_phone: None,
        }
    }

    /// Parses `name=N/unit` pairs (unit `s`, `min` or `h`); names left out
    /// keep their default; `off` turns every limit off.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "off" {
            return Ok(Self::off());
        }
        let mut limits = Self::off();
        for pair in DEFAULT_RATE_LIMITS.split(',').chain(text.split(',')) {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (name, rate) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?}: expected name=N/unit"))?;
            let quota = if rate.trim() == "off" {
                None
            } else {
                Some(quota(rate.trim()).ok_or_else(|| {
                    format!("{pair:?}: expected a rate like 10/min (units: s, min, h)")
                })?)
            };
            let slot = match name.trim() {
                "login_phone" => {
                    limits.login_phone =
                        quota.map(|(_, burst, period)| Guesses::new(burst, period));
                    continue;
                }
                "login_ip" => &mut limits.login_ip,
                "register_ip" => &mut limits.register_ip,
                "register_phone" => &mut limits.register_phone,
                other => {
                    return Err(format!(
                        "unknown rate limit {other:?} (login_ip, login_phone, register_ip, register_phone)"
                    ));
                }
            };
            *slot = quota.map(|(q, _, _)| governor::RateLimiter::keyed(q));
        }
        Ok(limits)
    }

    /// Registration: takes one token from the IP bucket and one from the
    /// phone's.
    pub fn check_register(&self, ip: Option<IpAddr>, phone: &str) -> Result<(), ApiError> {
        if let Some(ip) = ip {
            take(&self.register_ip, ip.to_string())?;
        }
        take(&self.register_phone, phone.trim().to_owned())
    }

    /// A password or code checked for `phone` by `attempt`: refused before
    /// it runs when the address is over its limit or the phone has too many
    /// recent wrong guesses; a wrong guess then counts, a right one clears
    /// the phone's count.
    pub async fn guess<T>(
        &self,
        ip: Option<IpAddr>,
        phone: &str,
        attempt: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        if let Some(ip) = ip {
            take(&self.login_ip, ip.to_string())?;
        }
        let phone = phone.trim();
        let Some(guesses) = &self.login_phone else {
            return attempt.await;
        };
        if let Some(wait) = guesses.wait(phone, Instant::now()) {
            return Err(ApiError::rate_limited(whole_seconds(wait)));
        }
        // Counted as wrong until it proves right, so that guesses sent all
        // at once cannot all pass the check above.
        guesses.wrong(phone, Instant::now());
        let outcome = attempt.await;
        match &outcome {
            Ok(_) => guesses.right(phone),
            Err(e) if is_wrong_guess(e.code) => {}
            Err(_) => guesses.refund(phone),
        }
        outcome
    }
}

fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

fn take(limiter: &Limiter, key: String) -> Result<(), ApiError> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if limiter.len() > PRUNE_ABOVE {
        limiter.retain_recent();
    }
    limiter.check_key(&key).map_err(|not_until| {
        ApiError::rate_limited(whole_seconds(
            not_until.wait_time_from(DefaultClock::default().now()),
        ))
    })
}

/// A rate as a quota, with its burst and period.
fn quota(rate: &str) -> Option<(Quota, u32, Duration)> {
    let (count, unit) = rate.split_once('/')?;
    let count = NonZeroU32::new(count.trim().parse().ok()?)?;
    let period = match unit.trim() {
        "s" => Duration::from_secs(1),
        "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => return None,
    };
    let quota = Quota::with_period(period / count.get())?.allow_burst(count);
    Some((quota, count.get(), period))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_overrides_and_off() {
        let limits = RateLimits::parse("").unwrap();
        assert!(limits.login_ip.is_some() && limits.register_phone.is_some());
        let limits = RateLimits::parse("login_ip=off, register_phone=1/s").unwrap();
        assert!(limits.login_ip.is_none() && limits.login_phone.is_some());
        assert!(RateLimits::parse("off").unwrap().login_phone.is_none());
        for bad in [
            "login_ip",
            "login_ip=3",
            "login_ip=0/min",
            "nope=1/s",
            "login_ip=1/day",
        ] {
            assert!(RateLimits::parse(bad).is_err(), "{bad}");
        }
    }

    fn attempt(
        limits: &RateLimits,
        phone: &str,
        outcome: Result<(), Code>,
    ) -> Result<(), ApiError> {
        futures_executor(limits.guess(None, phone, async { outcome.map_err(ApiError::of) }))
    }

    /// The guard is polled once: its attempt is ready at once.
    fn futures_executor<T>(f: impl Future<Output = T>) -> T {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the attempt should be ready"),
        }
    }

    #[test]
    fn wrong_guesses_then_refusal_with_retry_after() {
        let limits = RateLimits::parse("login_phone=3/h,login_ip=off").unwrap();
        for _ in 0..3 {
            let e = attempt(&limits, "13800000001", Err(Code::InvalidCredentials)).unwrap_err();
            assert_eq!(e.code, Code::InvalidCredentials);
        }
        // Not even the right password is tried now.
        let refused = attempt(&limits, "13800000001", Ok(())).unwrap_err();
        assert_eq!(refused.status.as_u16(), 429);
        assert_eq!(refused.code, Code::RateLimited);
        // One guess comes back every 20 minutes.
        let retry = refused.retry_after.unwrap();
        assert!((1190..=1200).contains(&retry), "{retry}");
        // Another phone has its own count; registration has its own limits.
        attempt(&limits, "13800000002", Ok(())).unwrap();
        limits.check_register(None, "13800000001").unwrap();
    }

    #[test]
    fn right_guesses_never_count_and_clear_the_wrong_ones() {
        let limits = RateLimits::parse("login_phone=3/h,login_ip=off").unwrap();
        for _ in 0..50 {
            attempt(&limits, "13800000001", Ok(())).unwrap();
        }
        for _ in 0..2 {
            attempt(&limits, "13800000001", Err(Code::WrongPassword)).unwrap_err();
        }
        attempt(&limits, "13800000001", Ok(())).unwrap();
        for _ in 0..3 {
            let e = attempt(&limits, "13800000001", Err(Code::InvalidResetCode)).unwrap_err();
            assert_eq!(e.code, Code::InvalidResetCode);
        }
        assert_eq!(
            attempt(&limits, "13800000001", Ok(())).unwrap_err().code,
            Code::RateLimited
        );
    }

    #[test]
    fn a_failure_that_is_no_guess_does_not_count() {
        let limits = RateLimits::parse("login_phone=2/h,login_ip=off").unwrap();
        for _ in 0..10 {
            let e = attempt(&limits, "13800000001", Err(Code::Unavailable)).unwrap_err();
            assert_eq!(e.code, Code::Unavailable);
        }
        for _ in 0..2 {
            attempt(&limits, "13800000001", Err(Code::InvalidCredentials)).unwrap_err();
        }
        assert_eq!(
            attempt(&limits, "13800000001", Ok(())).unwrap_err().code,
            Code::RateLimited
        );
    }
}
