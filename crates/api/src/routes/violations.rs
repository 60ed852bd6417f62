use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use timebank_directory::Volunteer;
use timebank_earning::violations::{self, NewViolation, ViolationKind};
use timebank_kernel::Code;
use timebank_ledger::Amount;
use tracing_actix_web::RequestId;
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::idempotency;
use crate::principal::Principal;
use crate::routes::valid;
use crate::state::AppState;

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct RecordViolation {
    #[validate(length(min = 1, max = 64))]
    volunteer_id: String,
    #[validate(length(max = 100))]
    transaction_ids: Vec<String>,
    penalty_points: Option<Amount>,
    #[validate(range(min = 1, max = 3650))]
    suspend_days: Option<u32>,
    #[validate(length(min = 1, max = 500))]
    reason: String,
    kind: Option<ViolationKind>,
}

impl RecordViolation {
    fn violation(&self) -> NewViolation {
        NewViolation {
            volunteer_id: self.volunteer_id.clone(),
            kind: self.kind.unwrap_or(ViolationKind::Other),
            transaction_ids: self.transaction_ids.clone(),
            penalty_points: self.penalty_points,
            suspend_days: self.suspend_days,
            reason: self.reason.trim().to_owned(),
        }
    }
}

pub async fn record(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    body: crate::input::Json<RecordViolation>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    if body.penalty_points.is_some_and(|p| !p.is_positive()) {
        return Err(
            ApiError::new(Code::ValidationFailed, "penalty_points must be above zero")
                .with_details(json!({ "fields": { "penalty_points": ["range"] } })),
        );
    }
    let keyed = idempotency::Keyed::from_request(&req, &json!(body))?;
    let request_id = request_id.to_string();
    let actor = principal.actor_id();
    let new = body.violation();
    let outcome = keyed
        .run(&state, actor.clone(), move |c| {
            let allowed = |v: &Volunteer| access::may_record_violation(&principal, v);
            let violation = violations::record(c, &new, &actor, Some(&request_id), &allowed)?;
            Ok(idempotency::Effect::new(
                StatusCode::CREATED,
                json!(violation),
            ))
        })
        .await?;
    Ok(outcome.into_response())
}
