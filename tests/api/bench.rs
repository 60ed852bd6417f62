//! The benchmark's every step runs (small sizes, SQLite): storage limit,
//! the loaded district, write/read/mixed loads, settlement, ledger growth
//! and the closing verify. It measures nothing here; timings are never
//! asserted in tests.

use timebank_bench::{Backend, Options};

#[test]
fn the_benchmark_runs_end_to_end() {
    let dir = std::env::temp_dir().join(format!("timebank-bench-test-{}", std::process::id()));
    let opts = Options::quick(
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_timebank")),
        Backend::Sqlite,
        dir.clone(),
    );
    let report = timebank_bench::run(&opts).unwrap();
    let table = report.markdown("test machine");
    for needle in [
        "| write | 1 |",
        "| read | 4 |",
        "| mixed | 4 |",
        "settle (CLI)",
        "Scale (write ×4)",
    ] {
        assert!(table.contains(needle), "{needle} missing from:\n{table}");
    }
    assert!(report.goals().len() >= 5, "{table}");
    let _ = std::fs::remove_dir_all(dir);
}
