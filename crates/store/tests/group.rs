//! Commit grouping: one job's refusal or panic leaves the rest of its group
//! committed; a failed commit fails every job of the group and keeps none of
//! their writes; nobody hears "done" before the commit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use timebank_store::testing::TestDb;
use timebank_store::{DatabaseUrl, DbConnection, GroupConfig, GroupError, GroupWriter};

#[derive(Debug)]
enum JobError {
    Refused,
    Db(#[allow(dead_code)] diesel::result::Error),
}

impl From<diesel::result::Error> for JobError {
    fn from(e: diesel::result::Error) -> Self {
        JobError::Db(e)
    }
}

type Answer = Result<Result<i64, JobError>, GroupError>;

#[derive(QueryableByName)]
struct K {
    #[diesel(sql_type = BigInt)]
    k: i64,
}

fn setup(db: &TestDb) -> GroupWriter {
    let pool = db.pool(1).unwrap();
    pool.get()
        .unwrap()
        .batch_execute(
            "CREATE TABLE grp_parent (id BIGINT PRIMARY KEY);
             CREATE TABLE grp_items (k BIGINT PRIMARY KEY,
                 parent BIGINT REFERENCES grp_parent (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
    let url = DatabaseUrl::parse(db.url()).unwrap();
    // A long window: every job submitted below lands in the same group.
    GroupWriter::start(
        &url,
        GroupConfig {
            writers: 1,
            window: Duration::from_millis(400),
        },
    )
    .unwrap()
}

fn insert(c: &mut DbConnection, k: i64, parent: Option<i64>) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "INSERT INTO grp_items (k, parent) VALUES ({k}, {})",
        parent.map_or("NULL".to_owned(), |p| p.to_string())
    ))
    .execute(c)
}

fn submit(
    writer: &GroupWriter,
    work: impl FnOnce(&mut DbConnection) -> Result<i64, JobError> + Send + 'static,
) -> mpsc::Receiver<Answer> {
    let (tx, rx) = mpsc::channel();
    writer.submit(
        work,
        Box::new(move |answer| {
            tx.send(answer).unwrap();
        }),
    );
    rx
}

fn stored(db: &TestDb) -> Vec<i64> {
    let pool = db.pool(1).unwrap();
    let mut conn = pool.get().unwrap();
    diesel::sql_query("SELECT k FROM grp_items ORDER BY k")
        .load::<K>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|r| r.k)
        .collect()
}

#[test]
fn a_refused_job_leaves_the_rest_of_its_group_committed() {
    for db in TestDb::all() {
        let writer = setup(&db);
        let answers: Vec<_> = (1..=5)
            .map(|k| {
                submit(&writer, move |c| {
                    insert(c, k, None)?;
                    if k == 3 {
                        return Err(JobError::Refused);
                    }
                    Ok(k)
                })
            })
            .collect();
        let answers: Vec<Answer> = answers.iter().map(|rx| rx.recv().unwrap()).collect();
        for (k, answer) in (1..=5).zip(&answers) {
            match (k, answer) {
                (3, Ok(Err(JobError::Refused))) => {}
                (3, other) => panic!("job 3: {other:?}"),
                (k, Ok(Ok(v))) => assert_eq!(*v, k),
                (k, other) => panic!("job {k}: {other:?}"),
            }
        }
        assert_eq!(stored(&db), vec![1, 2, 4, 5], "{:?}", db.backend());
    }
}

#[test]
fn a_panicking_job_is_rolled_back_alone() {
    for db in TestDb::all() {
        let writer = setup(&db);
        let answers: Vec<_> = (1..=3)
            .map(|k| {
                submit(&writer, move |c| {
                    insert(c, k, None)?;
                    assert!(k != 2, "job 2 fails on purpose");
                    Ok(k)
                })
            })
            .collect();
        let answers: Vec<Answer> = answers.iter().map(|rx| rx.recv().unwrap()).collect();
        assert!(matches!(answers[0], Ok(Ok(1))), "{:?}", answers[0]);
        assert!(
            matches!(answers[1], Err(GroupError::Panicked)),
            "{:?}",
            answers[1]
        );
        assert!(matches!(answers[2], Ok(Ok(3))), "{:?}", answers[2]);
        assert_eq!(stored(&db), vec![1, 3]);
        // The writer goes on taking work.
        let after = submit(&writer, |c| Ok(insert(c, 9, None)? as i64));
        assert!(matches!(after.recv().unwrap(), Ok(Ok(1))));
        assert_eq!(stored(&db), vec![1, 3, 9]);
    }
}

#[test]
fn a_failed_commit_fails_every_job_and_keeps_nothing() {
    for db in TestDb::all() {
        let writer = setup(&db);
        // Job 2 breaks a deferred foreign key: only the commit notices.
        let answers: Vec<_> = (1..=4)
            .map(|k| {
                submit(&writer, move |c| {
                    insert(c, k, (k == 2).then_some(404))?;
                    Ok(k)
                })
            })
            .collect();
        for rx in &answers {
            let answer = rx.recv().unwrap();
            assert!(
                matches!(answer, Err(GroupError::Commit(_))),
                "{:?}: {answer:?}",
                db.backend()
            );
        }
        assert!(stored(&db).is_empty());
        // The next group commits normally.
        let after = submit(&writer, |c| Ok(insert(c, 7, None)? as i64));
        assert!(matches!(after.recv().unwrap(), Ok(Ok(1))));
        assert_eq!(stored(&db), vec![7]);
    }
}

/// SQLite: the writer leaves WAL checkpoints to a thread of their own, so a
/// group's pages reach the database file although the writer's own
/// threshold is far from reached.
#[test]
fn sqlite_commits_are_checkpointed_beside_the_writer() {
    let db = TestDb::sqlite();
    let writer = setup(&db);
    let file = DatabaseUrl::parse(db.url()).unwrap().sqlite_path().unwrap();
    let before = std::fs::metadata(&file).unwrap().len();
    let answer = submit(&writer, |c| {
        c.batch_execute(
            "CREATE TABLE grp_pages (k BIGINT PRIMARY KEY, v TEXT NOT NULL);
             WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 1000)
             INSERT INTO grp_pages SELECT k, hex(randomblob(200)) FROM n;",
        )?;
        Ok(0)
    });
    assert!(matches!(answer.recv().unwrap(), Ok(Ok(0))));
    // 1,000 rows of 400 characters: about 100 pages, far below the 1,000
    // at which a connection checkpoints on its own.
    let grown = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::fs::metadata(&file).unwrap().len() > before + 300_000
    });
    assert!(grown, "the database file stayed at {before} bytes");
}
