//! Who is calling, and what they may reach. Every access decision is one of
//! the small methods here, so the rules live in one place.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use timebank_kernel::Code;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use timebank_store::DbConnection;

use crate::auth::SYSTEM_SUBJECT;
use crate::error::ApiError;
use crate::state::AppState;

pub use timebank_directory::identity::Identity as UserPrincipal;

#[derive(Debug, Clone)]
pub enum Principal {
    /// A batch script with a system token.
    System,
    User(Arc<UserPrincipal>),
}

impl Principal {
    /// The id recorded as the actor of what this caller changes.
    pub fn actor_id(&self) -> String {
        match self {
            Principal::System => SYSTEM_SUBJECT.to_owned(),
            Principal::User(u) => u.id.clone(),
        }
    }

    pub fn roles(&self) -> Vec<String> {
        match self {
            Principal::System => vec!["system".to_owned()],
            Principal::User(u) => {
                let mut roles: Vec<String> = u.grants.iter().map(|g| g.role.clone()).collect();
                if u.volunteer.is_some() {
                    roles.push("volunteer".to_owned());
                }
                if u.resident.is_some() {
                    roles.push("resident".to_owned());
                }
                roles.sort();
                roles.dedup();
                roles
            }
        }
    }

    fn granted_over(&self, roles: &[&str], path: &str) -> bool {
        match self {
            Principal::System => true,
            Principal::User(u) => u.grants.iter().any(|g| {
                roles.contains(&g.role.as_str())
                    && g.org_path
                        .as_deref()
                        .is_some_and(|scope| path.starts_with(scope))
            }),
        }
    }

    /// May change things in the org subtree at `path`.
    pub fn admin_over(&self, path: &str) -> bool {
        self.granted_over(&["org_admin"], path)
    }

    /// May read private data in the org subtree at `path`.
    pub fn reads(&self, path: &str) -> bool {
        self.granted_over(&["org_admin", "auditor"], path)
    }

    /// Operates this site (or administers its org).
    pub fn operates(&self, site_id: &str, site_org_path: &str) -> bool {
        match self {
            Principal::System => true,
            Principal::User(u) => {
                u.grants
                    .iter()
                    .any(|g| g.role == "site_operator" && g.site_id.as_deref() == Some(site_id))
                    || self.admin_over(site_org_path)
            }
        }
    }

    pub fn is_user(&self, user_id: &str) -> bool {
        matches!(self, Principal::User(u) if u.id == user_id)
    }

    /// Holds any admin or auditor grant at all (or is the system).
    pub fn is_staff(&self) -> bool {
        match self {
            Principal::System => true,
            Principal::User(u) => u
                .grants
                .iter()
                .any(|g| g.role == "org_admin" || g.role == "auditor"),
        }
    }

    /// The widest org the caller administers (the root for the system).
    pub fn home_org(&self, conn: &mut DbConnection) -> Result<Option<String>, ApiError> {
        match self {
            Principal::System => Ok(timebank_directory::root_org(conn)?.map(|o| o.id)),
            Principal::User(u) => Ok(u
                .grants
                .iter()
                .filter(|g| g.role == "org_admin")
                .filter_map(|g| Some((g.org_path.as_ref()?.len(), g.org_id.clone()?)))
                .min()
                .map(|(_, id)| id)),
        }
    }

    /// The widest org the caller may read (admin or auditor; the root for
    /// the system): where a staff list starts when it names no org.
    pub fn home_read_org(&self, conn: &mut DbConnection) -> Result<Option<String>, ApiError> {
        match self {
            Principal::System => Ok(timebank_directory::root_org(conn)?.map(|o| o.id)),
            Principal::User(u) => Ok(u
                .grants
                .iter()
                .filter(|g| g.role == "org_admin" || g.role == "auditor")
                .filter_map(|g| Some((g.org_path.as_ref()?.len(), g.org_id.clone()?)))
                .min()
                .map(|(_, id)| id)),
        }
    }

    /// The caller's user id; a system token is no person.
    pub fn user_id(&self) -> Result<String, ApiError> {
        match self {
            Principal::User(u) => Ok(u.id.clone()),
            Principal::System => Err(ApiError::forbidden()),
        }
    }

    /// The caller's own volunteer id; anyone without a volunteer record is
    /// refused.
    pub fn volunteer_id(&self) -> Result<String, ApiError> {
        match self {
            Principal::User(u) if u.volunteer.is_some() => Ok(u.id.clone()),
            _ => Err(ApiError::new(
                Code::NotAVolunteer,
                "only a registered volunteer can do this",
            )),
        }
    }

    pub fn require(allowed: bool) -> Result<(), ApiError> {
        if allowed {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// The caller's user, grants and memberships, read on every request.
pub fn load(conn: &mut DbConnection, user_id: &str) -> Result<Option<UserPrincipal>, ApiError> {
    Ok(timebank_directory::identity::load(conn, user_id)?)
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req.headers().get(AUTHORIZATION).ok_or_else(|| {
        ApiError::new(
            Code::Unauthenticated,
            "an Authorization: Bearer token is required",
        )
        .with_zh("请先登录：请求需带 Authorization: Bearer 令牌")
    })?;
    let text = header
        .to_str()
        .map_err(|_| ApiError::new(Code::InvalidToken, "the access token is not valid"))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::new(
            Code::Unauthenticated,
            "an Authorization: Bearer token is required",
        )
        .with_zh("请先登录：请求需带 Authorization: Bearer 令牌")),
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(ApiError::internal)?;
            let claims = state.keys.verify(&token?)?;
            if claims.sub == SYSTEM_SUBJECT {
                return match claims.role.as_deref() {
                    Some("system") => Ok(Principal::System),
                    _ => Err(ApiError::new(
                        Code::InvalidToken,
                        "the access token is not valid",
                    )),
                };
            }
            let memo = &state.memos.identities;
            if let Some(user) = memo.get(&claims.sub) {
                return Ok(Principal::User(user));
            }
            let ticket = memo.ticket();
            let sub = claims.sub.clone();
            let user = state.db(move |conn| load(conn, &sub)).await?;
            let user = Arc::new(user.ok_or_else(|| {
                ApiError::new(Code::InvalidToken, "the access token is not valid")
            })?);
            memo.put(ticket, claims.sub, user.clone());
            Ok(Principal::User(user))
        })
    }
}
