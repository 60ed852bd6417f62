//! The request log line: as tracing-actix-web's, but the query's search
//! text never reaches the log (people search by phone number and name).

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// Query parameters whose values are personal data.
const PRIVATE_PARAMS: [&str; 2] = ["q", "phone"];

pub struct RequestSpan;

/// The route pattern a routed request matched (`default` if none). After
/// routing actix keeps where the request matched, so this walks no regex.
pub fn route_of(request: &actix_web::HttpRequest) -> String {
    request.match_pattern().unwrap_or_else(|| "default".into())
}

/// The path and query, with private parameters' values replaced.
pub fn loggable_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if PRIVATE_PARAMS.contains(&key) => format!("{key}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get("User-Agent")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let client_ip = request
            .connection_info()
            .realip_remote_addr()
            .unwrap_or("")
            .to_owned();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            // Known once routed (see on_request_end): matched before routing,
            // the pattern would be found by trying each route's regex in turn.
            http.route = tracing::field::Empty,
            http.target = %loggable_target(request.path(), request.query_string()),
            http.client_ip = %client_ip,
            http.user_agent = %user_agent,
            http.status_code = tracing::field::Empty,
            otel.name = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        if let Ok(res) = outcome {
            let request = res.request();
            let route = route_of(request);
            let name = format!("{} {route}", request.method());
            span.record("http.route", tracing::field::display(&route));
            span.record("otel.name", tracing::field::display(&name));
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_target;

    #[test]
    fn search_text_is_redacted() {
        assert_eq!(
            loggable_target("/api/v1/volunteers", "status=pending&q=13800001111&limit=5"),
            "/api/v1/volunteers?status=pending&q=[redacted]&limit=5"
        );
        assert_eq!(loggable_target("/x", ""), "/x");
        assert_eq!(loggable_target("/x", "qq=1"), "/x?qq=1");
    }
}
