//! `timebank export` and `timebank import`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use timebank_jobs::transfer;
use timebank_store::Pool;

use crate::config::ConfigError;
use crate::jobs::parse_date;

pub fn export(
    pool: &Pool,
    org_id: &str,
    from: &str,
    to: &str,
    format: &str,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let (from, to) = (parse_date(from, "--from")?, parse_date(to, "--to")?);
    if to < from {
        return Err(ConfigError("--to must not be before --from".into()).into());
    }
    let mut conn = pool.get()?;
    let org = timebank_jobs::transfer::find_org(&mut conn, org_id).context("--org")?;
    // The org's own days, as its earning policy sets them.
    let (start, end) = timebank_policy::calendar(&mut conn, &org.path)?.period(from, to);
    let data = transfer::export(&mut conn, &org, start, end)?;
    match format {
        "csv" => {
            let dir =
                out.ok_or_else(|| ConfigError("--format csv needs --out DIRECTORY".into()))?;
            std::fs::create_dir_all(dir)?;
            write_csv(&dir.join("volunteers.csv"), &data.volunteers)?;
            write_csv(&dir.join("service_records.csv"), &data.service_records)?;
            write_csv(&dir.join("transactions.csv"), &data.transactions)?;
            write_csv(&dir.join("teams.csv"), &data.teams)?;
        }
        "jsonl" => {
            let mut sink: Box<dyn Write> = match out {
                Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
                None => Box::new(std::io::stdout().lock()),
            };
            line(&mut sink, "volunteer", &data.volunteers)?;
            line(&mut sink, "service_record", &data.service_records)?;
            line(&mut sink, "transaction", &data.transactions)?;
            line(&mut sink, "team", &data.teams)?;
            sink.flush()?;
        }
        other => return Err(ConfigError(format!("--format {other:?}: use csv or jsonl")).into()),
    }
    eprintln!(
        "exported {} volunteers, {} service records, {} transaction postings, {} teams",
        data.volunteers.len(),
        data.service_records.len(),
        data.transactions.len(),
        data.teams.len()
    );
    Ok(())
}

fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    for row in rows {
        w.serialize(row)?;
    }
    w.flush()?;
    Ok(())
}

fn line<T: Serialize>(sink: &mut dyn Write, kind: &str, rows: &[T]) -> anyhow::Result<()> {
    for row in rows {
        let mut value = serde_json::to_value(row)?;
        value["type"] = kind.into();
        writeln!(sink, "{value}")?;
    }
    Ok(())
}

/// Returns whether every row applied or was already imported.
pub fn import(pool: &Pool, file: &str, hours: bool) -> anyhow::Result<bool> {
    let text = std::fs::read(file).with_context(|| format!("cannot read {file}"))?;
    let mut conn = pool.get()?;
    let bar = crate::jobs::progress();
    let report = if hours {
        transfer::import_hours(&mut conn, &text, "import", &bar)?
    } else {
        transfer::import_volunteers(&mut conn, &text, "import", &bar)?
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(report.rejected.is_empty())
}
