//! Statements of fixed text, which stay prepared. diesel prepares anew on
//! every call each UPDATE, upsert, multi-row INSERT, SQLite `IN (…)` list
//! and `sql_query`, since their text may vary between calls: on the write
//! path that was a sixth of the writer's time. A [`Fixed`] statement's text
//! never varies — any number of rows travel as one JSON array in a single
//! parameter — so the connection's statement cache keeps it prepared.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Untyped};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

use crate::DbConnection;

/// One parameter of a [`Fixed`] statement.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    NullableText(Option<String>),
    BigInt(i64),
    Integer(i32),
    /// Postgres only, for `unnest(?::text[], …)`: unlike a JSON array, whose
    /// length the planner guesses at 100 rows (and then scans the table to
    /// join them), an array parameter is planned as the few rows it is.
    Texts(Vec<String>),
    /// Postgres only, as [`Param::Texts`].
    BigInts(Vec<i64>),
    /// Postgres only, as [`Param::Texts`]; cast in the statement to what
    /// the column holds.
    NullableTexts(Vec<Option<String>>),
}

/// SQL text where each `?` is a parameter (written `?` or `$n` as the
/// backend wants), and the parameters in order.
#[derive(Debug, Clone)]
pub struct Fixed {
    text: &'static str,
    params: Vec<Param>,
}

impl Fixed {
    pub fn new(text: &'static str, params: Vec<Param>) -> Self {
        Self { text, params }
    }

    /// One parameter: a JSON array of rows.
    pub fn rows(text: &'static str, rows: String) -> Self {
        Self::new(text, vec![Param::Text(rows)])
    }

    /// Rows given column by column, each value as text, after `leading`
    /// parameters: on Postgres one text array per column (`unnest(?::text[],
    /// …)`, cast in `pg` where a column is not text), on SQLite one JSON
    /// array of rows (`json_each(?)` in `sqlite`).
    pub fn columns(
        conn: &DbConnection,
        pg: &'static str,
        sqlite: &'static str,
        leading: Vec<Param>,
        columns: Vec<Vec<String>>,
    ) -> Self {
        let mut params = leading;
        match conn {
            DbConnection::Pg(_) => {
                params.extend(columns.into_iter().map(Param::Texts));
                Self::new(pg, params)
            }
            DbConnection::Sqlite(_) => {
                let rows = columns.first().map_or(0, Vec::len);
                let rows: Vec<serde_json::Value> = (0..rows)
                    .map(|i| {
                        let row = columns.iter().map(|c| c.get(i).cloned().into());
                        serde_json::Value::Array(row.collect())
                    })
                    .collect();
                params.push(Param::Text(serde_json::Value::Array(rows).to_string()));
                Self::new(sqlite, params)
            }
        }
    }

    pub fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        crate::on_backend!(conn, c => RunQueryDsl::execute(self, c))
    }

    pub fn load<T>(self, conn: &mut DbConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
    {
        crate::on_backend!(conn, c => RunQueryDsl::load(self, c))
    }

    /// Writes the text with a placeholder for each parameter, which `bind`
    /// binds (or refuses, for a type the backend lacks).
    fn walk<'b, DB: diesel::backend::Backend>(
        &'b self,
        mut out: AstPass<'_, 'b, DB>,
        bind: impl Fn(&mut AstPass<'_, 'b, DB>, &'b Param) -> QueryResult<()>,
    ) -> QueryResult<()> {
        let mut pieces = self.text.split('?');
        if let Some(first) = pieces.next() {
            out.push_sql(first);
        }
        let mut params = self.params.iter();
        for piece in pieces {
            let param = params.next().ok_or_else(|| mismatch(self.text))?;
            bind(&mut out, param)?;
            out.push_sql(piece);
        }
        if params.next().is_some() {
            return Err(mismatch(self.text));
        }
        Ok(())
    }
}

fn mismatch(text: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(
        format!("parameters do not match the placeholders of: {text}").into(),
    )
}

impl QueryFragment<Sqlite> for Fixed {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.walk(out, |out, param| match param {
            Param::Text(v) => out.push_bind_param::<Text, _>(v),
            Param::NullableText(v) => out.push_bind_param::<Nullable<Text>, _>(v),
            Param::BigInt(v) => out.push_bind_param::<BigInt, _>(v),
            Param::Integer(v) => out.push_bind_param::<Integer, _>(v),
            Param::Texts(_) | Param::BigInts(_) | Param::NullableTexts(_) => Err(
                diesel::result::Error::QueryBuilderError("SQLite has no array parameters".into()),
            ),
        })
    }
}

impl QueryFragment<Pg> for Fixed {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::Array;
        self.walk(out, |out, param| match param {
            Param::Text(v) => out.push_bind_param::<Text, _>(v),
            Param::NullableText(v) => out.push_bind_param::<Nullable<Text>, _>(v),
            Param::BigInt(v) => out.push_bind_param::<BigInt, _>(v),
            Param::Integer(v) => out.push_bind_param::<Integer, _>(v),
            Param::Texts(v) => out.push_bind_param::<Array<Text>, _>(v),
            Param::BigInts(v) => out.push_bind_param::<Array<BigInt>, _>(v),
            Param::NullableTexts(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v),
        })
    }
}

// No static id: the statement cache then keys on the SQL text, which for a
// `Fixed` statement is the same on every call.
impl QueryId for Fixed {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Fixed {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Fixed {}

/// A timestamp as diesel writes it to SQLite, so that one passed inside a
/// JSON row compares (as text) with every other.
pub fn sqlite_timestamp(t: chrono::NaiveDateTime) -> String {
    t.format("%F %T%.f").to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use diesel::Connection;
    use diesel::connection::{Instrumentation, InstrumentationEvent};

    use super::*;

    #[test]
    fn a_statement_with_too_few_or_too_many_parameters_is_refused() {
        let mut conn = DbConnection::Sqlite(
            diesel::SqliteConnection::establish(":memory:").expect("an in-memory database"),
        );
        let one = Fixed::new("SELECT ? AS a", vec![]);
        assert!(one.execute(&mut conn).is_err());
        let none = Fixed::new("SELECT 1", vec![Param::Integer(1)]);
        assert!(none.execute(&mut conn).is_err());
        let right = Fixed::new("SELECT ? + ?", vec![Param::Integer(1), Param::BigInt(2)]);
        assert!(right.execute(&mut conn).is_ok());
    }

    struct CacheCount(Arc<AtomicUsize>);

    impl Instrumentation for CacheCount {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::CacheQuery { .. } = event {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    #[test]
    fn a_fixed_statement_is_prepared_once_whatever_its_rows() {
        let cached = Arc::new(AtomicUsize::new(0));
        let mut lite = diesel::SqliteConnection::establish(":memory:").expect("a database");
        lite.set_instrumentation(CacheCount(cached.clone()));
        let mut conn = DbConnection::Sqlite(lite);
        for rows in ["[1]", "[1,2]", "[1,2,3]"] {
            let all: Vec<Value> = Fixed::rows("SELECT value AS v FROM json_each(?)", rows.into())
                .load(&mut conn)
                .expect("rows");
            assert_eq!(all.len(), rows.matches(',').count() + 1);
        }
        assert_eq!(cached.load(Ordering::Relaxed), 1);
        // The same text through `sql_query` is never kept.
        let DbConnection::Sqlite(lite) = &mut conn else {
            unreachable!()
        };
        for _ in 0..2 {
            diesel::sql_query("SELECT value AS v FROM json_each(?)")
                .bind::<Text, _>("[1]")
                .execute(lite)
                .expect("rows");
        }
        assert_eq!(cached.load(Ordering::Relaxed), 1);
    }

    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = BigInt)]
        #[allow(dead_code)]
        v: i64,
    }
}
