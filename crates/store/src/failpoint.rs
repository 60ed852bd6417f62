//! `TIMEBANK_FAILPOINT=<name>:<n>` aborts the process (like `kill -9`) at
//! the n-th hit of the named point, so tests can crash a real server or
//! batch job at a known place and check that nothing is lost or doubled.

use std::sync::OnceLock;

fn spec() -> Option<&'static (String, u64)> {
    static SPEC: OnceLock<Option<(String, u64)>> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::env::var("TIMEBANK_FAILPOINT").ok()?;
        let (name, n) = text.split_once(':')?;
        Some((name.to_owned(), n.parse().ok()?))
    })
    .as_ref()
}

/// Aborts when this is the configured point's n-th hit.
pub fn hit(name: &str, count: u64) {
    if let Some((point, at)) = spec()
        && point == name
        && *at == count
    {
        eprintln!("failpoint {name}:{count}: aborting");
        std::process::abort();
    }
}
