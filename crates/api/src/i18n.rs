//! Error messages in zh-CN or en, chosen by `Accept-Language`. Codes never
//! change with the language; only `message` does.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

use crate::error::ApiError;

fn prefers_chinese(req: &ServiceRequest) -> bool {
    req.headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|first| first.trim().to_ascii_lowercase().starts_with("zh"))
        .unwrap_or(false)
}

/// Middleware: rewrites an [`ApiError`] response's message for zh clients.
pub async fn localize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let chinese = prefers_chinese(&req);
    let res = next.call(req).await?.map_into_boxed_body();
    if !chinese {
        return Ok(res);
    }
    let Some(api_error) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .cloned()
    else {
        return Ok(res);
    };
    let message = api_error.code.zh();
    let (req, old) = res.into_parts();
    let mut builder = HttpResponse::build(old.status());
    for (name, value) in old.headers() {
        builder.insert_header((name.clone(), value.clone()));
    }
    let new = builder.json(api_error.body(message));
    Ok(ServiceResponse::new(req, new))
}
