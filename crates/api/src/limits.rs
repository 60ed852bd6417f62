//! Rate limits on the unauthenticated doors (login, registration), per
//! client IP and per phone number: token buckets (GCRA) that refill over
//! their period. A refused call answers 429 `rate_limited` with
//! `Retry-After`. Limits live in this process's memory: a restart forgets
//! them, and several processes each keep their own.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;

/// Limits as configured: `login_ip=60/min,login_phone=10/h,...`, or `off`.
pub const DEFAULT_RATE_LIMITS: &str =
    "login_ip=60/min,login_phone=10/h,register_ip=30/min,register_phone=5/h";

/// Above this many tracked keys, keys whose buckets are full are forgotten.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Door {
    Login,
    Register,
}

type Limiter = Option<DefaultKeyedRateLimiter<String>>;

pub struct RateLimits {
    login_ip: Limiter,
    login_phone: Limiter,
    register_ip: Limiter,
    register_phone: Limiter,
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
                "login_ip" => &mut limits.login_ip,
                "login_phone" => &mut limits.login_phone,
                "register_ip" => &mut limits.register_ip,
                "register_phone" => &mut limits.register_phone,
                other => {
                    return Err(format!(
                        "unknown rate limit {other:?} (login_ip, login_phone, register_ip, register_phone)"
                    ));
                }
            };
            *slot = quota.map(governor::RateLimiter::keyed);
        }
        Ok(limits)
    }

    /// Takes one token from the door's IP bucket and its phone bucket.
    pub fn check(&self, door: Door, ip: Option<IpAddr>, phone: &str) -> Result<(), ApiError> {
        let (by_ip, by_phone) = match door {
            Door::Login => (&self.login_ip, &self.login_phone),
            Door::Register => (&self.register_ip, &self.register_phone),
        };
        if let Some(ip) = ip {
            take(by_ip, ip.to_string())?;
        }
        take(by_phone, phone.trim().to_owned())
    }
}

fn take(limiter: &Limiter, key: String) -> Result<(), ApiError> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if limiter.len() > PRUNE_ABOVE {
        limiter.retain_recent();
    }
    limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::rate_limited(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    })
}

fn quota(rate: &str) -> Option<Quota> {
    let (count, unit) = rate.split_once('/')?;
    let count = NonZeroU32::new(count.trim().parse().ok()?)?;
    let period = match unit.trim() {
        "s" => Duration::from_secs(1),
        "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => return None,
    };
    Some(Quota::with_period(period / count.get())?.allow_burst(count))
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

    #[test]
    fn a_burst_then_refusal_with_retry_after() {
        let limits = RateLimits::parse("login_phone=3/h,login_ip=off").unwrap();
        for _ in 0..3 {
            limits.check(Door::Login, None, "13800000001").unwrap();
        }
        let refused = limits.check(Door::Login, None, "13800000001").unwrap_err();
        assert_eq!(refused.status.as_u16(), 429);
        assert_eq!(refused.code, timebank_kernel::Code::RateLimited);
        // One token comes back every 20 minutes.
        let retry = refused.retry_after.unwrap();
        assert!((1190..=1200).contains(&retry), "{retry}");
        // Another phone has its own bucket; registration has its own limits.
        limits.check(Door::Login, None, "13800000002").unwrap();
        limits.check(Door::Register, None, "13800000001").unwrap();
    }
}
