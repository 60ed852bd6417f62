use serde_json::json;

use crate::helpers::*;

#[test]
fn malformed_input_gets_the_error_shape_never_a_5xx() {
    each_backend(|app| {
        let login = "/api/v1/auth/login";
        app.post_raw(login, Some("application/json"), b"{not json")
            .assert_error(400, "invalid_json");
        app.post_raw(login, Some("application/json"), b"")
            .assert_error(400, "invalid_json");
        app.post_raw(
            login,
            Some("application/json"),
            br#"{"phone": 5, "password": []}"#,
        )
        .assert_error(400, "invalid_body");
        app.post_raw(login, Some("application/json"), b"\xff\xfe\xfd")
            .assert_error(400, "invalid_json");
        app.post_raw(
            login,
            Some("text/plain"),
            br#"{"phone":"1","password":"2"}"#,
        )
        .assert_error(415, "unsupported_media_type");
        let huge = format!(r#"{{"phone":"1","password":"{}"}}"#, "x".repeat(70 * 1024));
        app.post_raw(login, Some("application/json"), huge.as_bytes())
            .assert_error(413, "payload_too_large");
        app.get("/api/v1/nothing-here", None)
            .assert_error(404, "not_found");
        let long_name = "名".repeat(5000);
        app.post("/api/v1/volunteers/register", None, json!({ "name": long_name, "phone": "13500000001", "password": "long-enough", "community_id": "x" }))
            .assert_error(422, "validation_failed");
    });
}

#[test]
fn messages_follow_accept_language() {
    each_backend(|app| {
        let zh = app.send(
            "GET",
            "/api/v1/me",
            None,
            None,
            &[("Accept-Language", "zh-CN,zh;q=0.9")],
        );
        zh.assert_error(401, "unauthenticated");
        assert_eq!(
            zh.body["error"]["message"],
            "请先登录：请求需带 Authorization: Bearer 令牌"
        );
        let en = app.send(
            "GET",
            "/api/v1/me",
            None,
            None,
            &[("Accept-Language", "en-US")],
        );
        en.assert_error(401, "unauthenticated");
        assert!(en.body["error"]["message"].as_str().unwrap().is_ascii());
    });
}

#[test]
fn operations_endpoints() {
    each_backend(|app| {
        assert_eq!(app.get("/healthz", None).body, json!({ "status": "ok" }));
        assert_eq!(app.get("/readyz", None).body, json!({ "status": "ready" }));
        let spec = app.get("/openapi.yaml", None);
        assert_eq!(spec.status, 200);
        let on_disk =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
        assert_eq!(spec.body.as_str().unwrap(), on_disk);
        let metrics = app.get("/metrics", None);
        assert!(metrics.body.as_str().unwrap().contains(
            "timebank_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"
        ));
    });
}

/// Each request's log line names the route it matched (the pattern, not
/// the ids in its path), as the metrics do.
#[test]
fn a_request_is_logged_under_its_route_pattern() {
    let app = spawn(timebank_store::testing::TestDb::sqlite());
    let path = format!("/api/v1/orgs/{}/queues", app.root_id);
    assert_eq!(app.get(&path, Some(&app.admin)).status, 200);
    let wanted = "http.route=/api/v1/orgs/{id}/queues";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        // Lines reach the log from a writer thread of their own.
        if let Some(line) = app
            .log_lines()
            .into_iter()
            .find(|l| l.contains("HTTP request") && l.contains(&path))
        {
            break line;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no log line for {path}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(line.contains(wanted), "{line}");
    assert!(
        line.contains("otel.name=GET /api/v1/orgs/{id}/queues"),
        "{line}"
    );
    assert!(line.contains("http.status_code=200"), "{line}");
}

/// An operator can keep `/metrics` off the public address: it answers on
/// the internal one, with the SQL statement count the benchmark reads.
#[test]
fn metrics_can_be_served_on_an_internal_address_only() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let internal = format!("127.0.0.1:{port}");
    let app = spawn_with(
        timebank_store::testing::TestDb::sqlite(),
        &[("TIMEBANK_METRICS_BIND", &internal)],
    );
    assert_eq!(app.get("/readyz", None).status, 200);
    app.get("/metrics", None).assert_error(404, "not_found");
    let mut text = String::new();
    for _ in 0..50 {
        if let Ok(r) = ureq::get(&format!("http://{internal}/metrics")).call() {
            text = r.into_body().read_to_string().unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        text.contains(
            "timebank_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    let statements: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("timebank_sql_statements_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(statements > 0, "{text}");
}
