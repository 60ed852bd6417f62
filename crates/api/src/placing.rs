//! Orders that arrive together are placed together: while a pass of orders
//! is being written, the next ones wait, then go as one pass
//! ([`orders::place_many`]), their `Idempotency-Key`s taken, replayed and
//! answered a statement each for all. A pass whose work fails (a database
//! error, a deadlock) is rolled back and not answered as such: each of its
//! orders is placed again on its own, as if it had come alone. A pass whose
//! commit fails is not redone here (it may have committed): each order gets
//! the error, and a client retries with its key.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use timebank_redemption::orders::{self, OrderRequest};
use timebank_store::DbConnection;
use timebank_store::idempotency::{self as stored, KeyOf};

use crate::error::ApiError;
use crate::idempotency::{Effect, Keyed, Outcome};
use crate::routes::redemptions::order_json;
use crate::state::AppState;

/// Passes written at once: one committing while the next gathers.
const RUNNERS: usize = 2;
/// Most orders in one pass.
const MAX_PASS: usize = 128;

type Reply = tokio::sync::oneshot::Sender<Result<Outcome, ApiError>>;

/// One order as the API received it.
#[derive(Clone)]
pub struct Placement {
    pub order: OrderRequest,
    pub keyed: Keyed,
}

#[derive(Default)]
pub struct Placing {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<(Placement, Reply)>,
    running: usize,
}

impl Placing {
    /// Places the order with the others waiting, answering after the commit.
    pub async fn place(
        self: &Arc<Self>,
        state: &AppState,
        placement: Placement,
    ) -> Result<Outcome, ApiError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let start_runner = {
            let mut queue = self.queue.lock().map_err(|_| ApiError::internal())?;
            queue.waiting.push((placement, reply));
            let start = queue.running < RUNNERS;
            if start {
                queue.running += 1;
            }
            start
        };
        if start_runner {
            // Counted from here: should the task be dropped unpolled, the
            // runner still gives its place up.
            let runner = Runner {
                placing: self.clone(),
                counted: true,
            };
            actix_web::rt::spawn(run(runner, state.clone()));
        }
        answer.await.map_err(|_| ApiError::unavailable())?
    }

    /// The next pass, or `None` (and the runner stops, one fewer) when
    /// nobody waits: both decided under the queue's lock, so an order
    /// queued meanwhile starts a runner of its own.
    fn next_pass(&self, runner: &mut Runner) -> Option<Vec<(Placement, Reply)>> {
        let mut queue = self.queue.lock().ok()?;
        if queue.waiting.is_empty() {
            queue.running -= 1;
            runner.counted = false;
            return None;
        }
        let take = queue.waiting.len().min(MAX_PASS);
        Some(queue.waiting.drain(..take).collect())
    }
}

/// A runner counted in `running`; dropped while still counted (its task
/// cancelled), it gives its place up, so later orders start another.
struct Runner {
    placing: Arc<Placing>,
    counted: bool,
}

impl Drop for Runner {
    fn drop(&mut self) {
        if self.counted
            && let Ok(mut queue) = self.placing.queue.lock()
        {
            queue.running -= 1;
        }
    }
}

/// How far a pass's own work got, which decides whether it may be redone.
const NOT_RUN: u8 = 0;
const REFUSED: u8 = 1;
const DONE: u8 = 2;

async fn run(mut runner: Runner, state: AppState) {
    let placing = runner.placing.clone();
    while let Some(pass) = placing.next_pass(&mut runner) {
        let (placements, replies): (Vec<Placement>, Vec<Reply>) = pass.into_iter().unzip();
        let placements = Arc::new(placements);
        let together = placements.clone();
        let reached = Arc::new(AtomicU8::new(NOT_RUN));
        let reached_here = reached.clone();
        let written = state
            .write(move |c| {
                let answers = place_together(c, &together);
                let how_far = if answers.is_ok() { DONE } else { REFUSED };
                reached_here.store(how_far, Ordering::Release);
                answers
            })
            .await;
        let outcome = match (&written, reached.load(Ordering::Acquire)) {
            (Ok(_), _) => "written",
            (Err(_), REFUSED) => "redone",
            (Err(_), _) => "failed",
        };
        state.metrics.order_pass(outcome);
        let answers: Vec<Option<Answered>> = match written {
            Ok(answers) => answers.into_iter().map(Some).collect(),
            // Its work failed and was rolled back: each order may go alone.
            Err(e) if reached.load(Ordering::Acquire) == REFUSED => {
                tracing::warn!(error = %e, orders = replies.len(), "an order pass failed; placing each alone");
                replies.iter().map(|_| None).collect()
            }
            // Never run (the writer is busy or unreachable), or run and then
            // its commit failed, when it may have committed: answered as
            // each order alone would have been, never placed again here.
            Err(e) => replies
                .iter()
                .map(|_| Some(Answered::Now(Err(e.clone()))))
                .collect(),
        };
        let placements = Arc::unwrap_or_clone(placements);
        for ((placement, reply), answer) in placements.into_iter().zip(replies).zip(answers) {
            match answer {
                Some(Answered::Now(result)) => {
                    // The caller may have hung up: nothing to tell.
                    let _ = reply.send(result);
                }
                Some(Answered::Alone) | None => {
                    let state = state.clone();
                    actix_web::rt::spawn(async move {
                        let _ = reply.send(place_alone(&state, placement).await);
                    });
                }
            }
        }
    }
}

/// What a pass says of one of its orders.
enum Answered {
    Now(Result<Outcome, ApiError>),
    /// Its key was sent twice in the pass: the twin goes after, alone (and
    /// then replays the first one's answer).
    Alone,
}

/// One order on its own: its key looked up, the order placed and the answer
/// kept in one write.
async fn place_alone(state: &AppState, placement: Placement) -> Result<Outcome, ApiError> {
    let Placement { order, keyed } = placement;
    keyed
        .run(state, order.volunteer_id.clone(), move |c| {
            let placed = orders::place(
                c,
                &order.volunteer_id,
                &order.item_id,
                &order.site_id,
                order.quantity,
                timebank_store::now(),
            )?;
            Ok(Effect::new(StatusCode::CREATED, order_json(&placed, true)))
        })
        .await
}

/// The pass inside one write, in the order a single keyed write takes its
/// locks (keys, then what the orders lock): keys are taken first, those
/// already answered replayed, the rest placed as one pass, then each
/// taken key keeps its answer or, refused, is freed.
fn place_together(c: &mut DbConnection, pass: &[Placement]) -> Result<Vec<Answered>, ApiError> {
    let mut answers: Vec<Option<Answered>> = pass.iter().map(|_| None).collect();
    let mut seen = std::collections::HashSet::new();
    let mut keyed: std::collections::BTreeMap<usize, KeyOf<'_>> = Default::default();
    for (i, p) in pass.iter().enumerate() {
        let Some(key) = p.keyed.key() else { continue };
        if seen.insert((p.order.volunteer_id.as_str(), key)) {
            let key = KeyOf {
                caller: &p.order.volunteer_id,
                key,
                request_hash: p.keyed.fingerprint(),
            };
            keyed.insert(i, key);
        } else {
            answers[i] = Some(Answered::Alone);
        }
    }
    let wanted: Vec<KeyOf<'_>> = keyed.values().cloned().collect();
    let taken = stored::reserve_many(c, &wanted, timebank_store::now())?;
    let held: Vec<KeyOf<'_>> = wanted
        .into_iter()
        .filter(|k| !taken.contains(&(k.caller.to_owned(), k.key.to_owned())))
        .collect();
    let kept = stored::find_many(c, &held)?;
    for (i, k) in &keyed {
        let pair = (k.caller.to_owned(), k.key.to_owned());
        if taken.contains(&pair) {
            continue;
        }
        // Held yet not found (a twin not committed): answered alone.
        answers[*i] = Some(match kept.get(&pair) {
            Some(answer) => Answered::Now(Outcome::replay(answer, k.request_hash)),
            None => Answered::Alone,
        });
    }
    let to_place: Vec<usize> = (0..pass.len()).filter(|i| answers[*i].is_none()).collect();
    let requests: Vec<OrderRequest> = to_place.iter().map(|&i| pass[i].order.clone()).collect();
    let placed = orders::place_many(c, &requests, timebank_store::now())?;
    let created = i32::from(StatusCode::CREATED.as_u16());
    let mut bodies: Vec<(usize, String)> = Vec::new();
    let mut refused: Vec<KeyOf<'_>> = Vec::new();
    for (&i, result) in to_place.iter().zip(placed) {
        answers[i] = Some(Answered::Now(match result {
            Ok(order) => {
                let outcome =
                    Outcome::fresh(Effect::new(StatusCode::CREATED, order_json(&order, true)));
                bodies.push((i, outcome.body.clone()));
                Ok(outcome)
            }
            Err(refusal) => {
                refused.extend(keyed.get(&i).cloned());
                Err(refusal.into())
            }
        }));
    }
    let record: Vec<(KeyOf<'_>, i32, &str)> = bodies
        .iter()
        .filter_map(|(i, body)| keyed.get(i).map(|k| (k.clone(), created, body.as_str())))
        .collect();
    stored::record_many(c, &record)?;
    stored::release_many(c, &refused)?;
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or(Answered::Now(Err(ApiError::internal()))))
        .collect())
}
