//! Request bodies and query strings read so that a mistake is named: the
//! field or parameter, and what it must be (`quantity must be a whole
//! number`), with `details.fields`, never the parser's own words. A body
//! field the endpoint does not know is refused, as payment APIs do: a
//! misspelt `qty` must not silently order one item.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use timebank_kernel::Code;

use crate::error::ApiError;

/// A JSON body of type `T`; see the module.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Size, content type and JSON syntax are checked as before (see
        // `json_error`); only the mapping onto `T` is ours.
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            Ok(Json(body_from_value(value)?))
        })
    }
}

/// A query string of type `T`; unknown parameters are ignored (links carry
/// other things), a bad value is named.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            query_from_str(req.query_string())
                .map(Query)
                .map_err(Into::into),
        )
    }
}

/// `T` from a body's JSON: every unknown field, or the first field that
/// does not fit, as one 422.
pub fn body_from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    // serde reads a struct from an array too; a body that is one is named
    // as such, not by its first element.
    let array = value.is_array();
    let mut unknown: Vec<String> = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let parsed: Result<T, _> =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut note));
    match parsed {
        Ok(t) if unknown.is_empty() => Ok(t),
        Ok(_) => Err(unknown_fields(&unknown)),
        // A misspelt field is the likelier cause of a missing one: name it.
        Err(_) if !unknown.is_empty() => Err(unknown_fields(&unknown)),
        Err(_) if array => Err(ApiError::new(
            Code::InvalidBody,
            "the body must be a JSON object, not an array",
        )),
        Err(e) => {
            let path = e.path().to_string();
            Err(misfit(&path, &e.into_inner().to_string(), "body"))
        }
    }
}

/// `T` from a query string, naming the parameter that does not fit.
pub fn query_from_str<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        misfit(&path, &e.into_inner().to_string(), "query")
    })
}

fn unknown_fields(names: &[String]) -> ApiError {
    let fields: serde_json::Map<String, Value> = names
        .iter()
        .map(|n| (n.clone(), json!(["unknown_field"])))
        .collect();
    let list = names.join(", ");
    ApiError::new(
        Code::ValidationFailed,
        format!("unknown field(s): {list}; check the spelling against the API"),
    )
    .with_details(json!({ "fields": fields, "unknown": names }))
}

/// One field that did not fit, from serde's description of it.
fn misfit(path: &str, cause: &str, place: &str) -> ApiError {
    let (kind, rule) = describe(cause);
    let field = match (path, rule.field.as_deref()) {
        (".", Some(f)) | ("", Some(f)) => f.to_owned(),
        // serde_path_to_error may already have stepped into the field.
        (p, Some(f)) if p == f || p.ends_with(&format!(".{f}")) => p.to_owned(),
        (p, Some(f)) => format!("{p}.{f}"),
        (".", None) => String::new(),
        (p, None) => p.to_owned(),
    };
    let query = place == "query";
    let what = match &rule.must {
        Some(must) => format!("must be {must}"),
        None => format!("is not valid: {}", rule.cause),
    };
    if field.is_empty() {
        let code = if query {
            Code::InvalidQuery
        } else {
            Code::InvalidBody
        };
        return ApiError::new(code, format!("the {place} {what}"));
    }
    if kind == "unknown_field" && !query {
        return unknown_fields(&[field]);
    }
    // A body that does not fit its shape stays 400 `invalid_body`, as it
    // always answered; it now names the field. Only unknown fields are 422.
    let (code, noun) = if query {
        (Code::InvalidQuery, "query parameter")
    } else {
        (Code::InvalidBody, "field")
    };
    let message = match kind {
        "required" => format!("{field} is required"),
        _ => format!("{noun} {field} {what}"),
    };
    let mut details = json!({ "fields": { field.clone(): [kind] } });
    if let Some(must) = &rule.must {
        details["expected"] = json!(must);
    }
    ApiError::new(code, message).with_details(details)
}

struct Rule {
    /// A missing field's name (serde names it in the message, not the path).
    field: Option<String>,
    /// What the value must be, in words, when serde says.
    must: Option<String>,
    /// The type's own words otherwise (an amount, a date).
    cause: String,
}

/// serde's message → (kind, rule). serde_json and serde_urlencoded word
/// their errors the same way: "invalid type: string \"1\", expected i32",
/// "missing field `site_id`", "unknown variant `x`, expected one of `a`, `b`".
fn describe(cause: &str) -> (&'static str, Rule) {
    // Drop serde_json's position suffix.
    let cause = cause.split(" at line ").next().unwrap_or(cause).to_owned();
    let ticked = |s: &str| -> Option<String> {
        let start = s.find('`')? + 1;
        let end = s[start..].find('`')? + start;
        Some(s[start..end].to_owned())
    };
    if let Some(rest) = cause.strip_prefix("missing field ") {
        let field = ticked(rest);
        return (
            "required",
            Rule {
                field,
                must: None,
                cause,
            },
        );
    }
    if let Some(rest) = cause.strip_prefix("unknown field ") {
        let field = ticked(rest);
        return (
            "unknown_field",
            Rule {
                field,
                must: None,
                cause,
            },
        );
    }
    if let Some(rest) = cause.strip_prefix("unknown variant ") {
        let options = rest
            .split_once("expected ")
            .map(|(_, o)| o.replace('`', ""))
            .unwrap_or_default();
        let must = Some(options);
        return (
            "unknown_variant",
            Rule {
                field: None,
                must,
                cause,
            },
        );
    }
    let kind = if cause.starts_with("invalid type") {
        "invalid_type"
    } else if cause.starts_with("invalid value") || cause.starts_with("invalid length") {
        "invalid_value"
    } else {
        "invalid"
    };
    let must = match cause.split_once("expected ") {
        Some((_, expected)) => Some(in_words(expected.trim())),
        // Query values are parsed from text by the type's own parser.
        None if ["digit", "integer", "number too"]
            .iter()
            .any(|w| cause.contains(w)) =>
        {
            Some("a whole number".into())
        }
        None if cause.contains("`true` or `false`") => Some("true or false".into()),
        // chrono's words for a date or time it cannot read.
        None if [
            "premature end of input",
            "input contains invalid characters",
            "trailing input",
            "input is out of range",
            "input is not enough",
            "no possible date and time",
        ]
        .iter()
        .any(|w| cause.contains(w)) =>
        {
            Some("a date (2026-12-01) or a time (2026-12-01T08:00:00Z)".into())
        }
        None => None,
    };
    (
        kind,
        Rule {
            field: None,
            must,
            cause,
        },
    )
}

/// serde's name for what it expected, as a client would say it.
fn in_words(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".into(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "a list".into(),
        "a map" => "an object".into(),
        e if e.starts_with("struct ") => "an object".into(),
        e if e.starts_with("a borrowed string") => "a string".into(),
        e => e.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Order {
        item_id: String,
        quantity: i32,
        note: Option<String>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Pickup,
        Delivery,
    }

    fn refused(v: Value) -> ApiError {
        body_from_value::<Order>(v).unwrap_err()
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named_with_what_it_must_be() {
        let e = refused(json!({ "item_id": "a", "quantity": "1" }));
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.code, Code::InvalidBody);
        assert_eq!(e.message, "field quantity must be a whole number");
        assert_eq!(
            e.details.unwrap()["fields"]["quantity"],
            json!(["invalid_type"])
        );
    }

    #[test]
    fn a_missing_field_is_named() {
        let e = refused(json!({ "quantity": 1 }));
        assert_eq!(e.message, "item_id is required");
        assert_eq!(e.details.unwrap()["fields"]["item_id"], json!(["required"]));
    }

    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let e = refused(json!({ "item_id": "a", "quantity": 1, "qty": 3 }));
        assert_eq!(e.status.as_u16(), 422);
        assert!(e.message.contains("qty"), "{}", e.message);
        assert_eq!(
            e.details.unwrap()["fields"]["qty"],
            json!(["unknown_field"])
        );
    }

    #[test]
    fn a_field_refused_by_the_type_itself_is_unknown() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Strict {
            a: Option<i32>,
        }
        let e = body_from_value::<Strict>(json!({ "b": 1 })).unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        assert_eq!(e.details.unwrap()["fields"]["b"], json!(["unknown_field"]));
    }

    #[test]
    fn an_unknown_variant_lists_the_choices() {
        let e = refused(json!({ "item_id": "a", "quantity": 1, "kind": "drone" }));
        assert_eq!(e.message, "field kind must be pickup or delivery");
    }

    #[test]
    fn a_body_that_is_no_object_is_a_bad_body() {
        let e = refused(json!("an order"));
        assert_eq!(e.code, Code::InvalidBody, "{}", e.message);
        assert_eq!(e.message, "the body must be an object");
    }

    #[test]
    fn an_array_is_no_body_for_an_object() {
        let e = refused(json!([1, 2]));
        assert_eq!(e.code, Code::InvalidBody);
        assert_eq!(e.message, "the body must be a JSON object, not an array");
    }

    #[test]
    fn a_query_parameter_that_does_not_fit_is_named() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Page {
            limit: Option<i64>,
        }
        let e = query_from_str::<Page>("limit=ten&other=1").unwrap_err();
        assert_eq!(e.code, Code::InvalidQuery);
        assert_eq!(e.message, "query parameter limit must be a whole number");
        assert!(query_from_str::<Page>("limit=10&other=1").is_ok());
    }

    #[test]
    fn a_date_that_cannot_be_read_says_what_it_must_look_like() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Job {
            as_of: Option<chrono::NaiveDate>,
        }
        let e = body_from_value::<Job>(json!({ "as_of": "2026-12" })).unwrap_err();
        assert_eq!(
            e.message,
            "field as_of must be a date (2026-12-01) or a time (2026-12-01T08:00:00Z)"
        );
    }

    #[test]
    fn nothing_of_the_parser_leaks() {
        let e = refused(json!({ "item_id": 5, "quantity": 1 }));
        assert!(!e.message.contains("line"), "{}", e.message);
        assert!(!e.message.contains("invalid type"), "{}", e.message);
        assert_eq!(e.message, "field item_id must be a string");
    }
}
