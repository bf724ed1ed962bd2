//! The OpenAPI document as the server really answers. Handlers document their own outcomes;
//! what every operation of a shape can also answer, whatever its handler, is added here once:
//!
//! - every problem is `application/problem+json` (RFC 9457), as [`super::problem`] sends it;
//! - an operation with parameters or a body can answer 400 (a malformed path, query or JSON);
//! - one with query parameters, also 422 (a value out of its range);
//! - one with a JSON body, also 413 (too large), 415 (not JSON) and 422 (well-formed but not
//!   valid);
//! - one with a path parameter, 404 (nothing there);
//! - one that needs a bearer token, 401 (none, or not valid) and 403 (not allowed).
//!
//! Generated clients (the e-government portal's, the open-data portal's) rely on these.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// The problem document's media type.
const PROBLEM_JSON: &str = "application/problem+json";
const PROBLEM_SCHEMA: &str = "#/components/schemas/Problem";

/// Makes `openapi` say what the server answers (see the module's documentation).
pub fn document_errors(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let has_path_parameter = path.contains('{');
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            problems_as_problem_json(operation);
            add_shared_errors(operation, has_path_parameter);
        }
    }
}

/// Rust's `White_Space` characters (what `str::trim` removes), as a regular-expression class
/// body: JSON Schema's `\s` is not quite the same set.
const WHITE_SPACE: &str = r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// Some character `text::clean` keeps and does not trim: not white space, not a control
/// character (`Cc`), not the invisible formatting it drops.
const NON_BLANK: &str =
    r"[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200F\u2028-\u202F\u205F\u2066-\u2069\u3000\uFEFF]";

/// Says, in the finished document, what only the running server knows or what utoipa cannot
/// state: the configured issue categories, and the events of a meeting's event stream.
pub fn document_runtime(
    document: &mut serde_json::Value,
    category_codes: &[&str],
    planned_minutes: (u32, u32),
) {
    let codes: Vec<String> = category_codes.iter().map(|code| regex_escape(code)).collect();
    // One of the configured codes, or blank for none: the server trims it.
    let category = format!("^[{WHITE_SPACE}]*(?:{})?[{WHITE_SPACE}]*$", codes.join("|"));
    let (min_minutes, max_minutes) = planned_minutes;
    for name in request_schemas(document) {
        let properties = format!("/components/schemas/{name}/properties");
        let Some(properties) = document.pointer_mut(&properties).and_then(serde_json::Value::as_object_mut)
        else {
            continue;
        };
        // A required text is non-blank once the server has cleaned it (text::clean): some
        // character that is neither white space, a control character nor invisible formatting.
        for field in properties.values_mut().filter_map(serde_json::Value::as_object_mut) {
            if field.get("minLength") == Some(&serde_json::Value::from(1)) && !field.contains_key("pattern") {
                field.insert("pattern".to_owned(), NON_BLANK.into());
            }
        }
        if let Some(field) = properties.get_mut("category").and_then(serde_json::Value::as_object_mut) {
            field.insert("pattern".to_owned(), category.clone().into());
        }
        // A meeting's planned length is bounded by the rule set the server runs with.
        if let Some(field) = properties.get_mut("planned_minutes").and_then(serde_json::Value::as_object_mut)
        {
            field.insert("minimum".to_owned(), min_minutes.into());
            field.insert("maximum".to_owned(), max_minutes.into());
        }
    }
    for parameter in query_parameters_named(document, "category") {
        if let Some(schema) = parameter.get_mut("schema").and_then(serde_json::Value::as_object_mut) {
            schema.insert("pattern".to_owned(), category.clone().into());
        }
    }
    document_meeting_events(document);
}

fn operations(document: &mut serde_json::Value) -> impl Iterator<Item = &mut serde_json::Value> {
    document
        .pointer_mut("/paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut())
}

/// The component schemas that some operation takes as its body (and only those: a response
/// may hold values of an older configuration).
fn request_schemas(document: &mut serde_json::Value) -> Vec<String> {
    operations(document)
        .filter_map(|operation| {
            operation.pointer("/requestBody/content").and_then(serde_json::Value::as_object)
        })
        .flat_map(|content| content.values())
        .filter_map(|media| media.pointer("/schema/$ref").and_then(serde_json::Value::as_str))
        .map(|reference| reference.trim_start_matches("#/components/schemas/").to_owned())
        .collect()
}

fn query_parameters_named<'a>(
    document: &'a mut serde_json::Value,
    name: &'a str,
) -> impl Iterator<Item = &'a mut serde_json::Value> {
    operations(document)
        .filter_map(|operation| operation.get_mut("parameters").and_then(serde_json::Value::as_array_mut))
        .flat_map(|parameters| parameters.iter_mut())
        .filter(move |parameter| parameter["name"] == name && parameter["in"] == "query")
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped = "\\^$.|?*+()[]{}/".contains(c);
            escaped.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

/// The events `GET /api/meetings/{id}/events` sends, each by its name and the schema of its
/// JSON `data`, as OpenAPI 3.1 describes one event of a `text/event-stream` in `schema`.
fn document_meeting_events(document: &mut serde_json::Value) {
    let json_of = |schema: &str| {
        serde_json::json!({
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": { "$ref": format!("#/components/schemas/{schema}") },
        })
    };
    let event = |name: &str, data: serde_json::Value| {
        serde_json::json!({
            "type": "object",
            "required": ["event", "data"],
            "properties": { "event": { "const": name }, "data": data },
        })
    };
    let events = serde_json::json!({
        "description": "One event: `snapshot` on connecting, then `phase_changed`, `meeting_updated`, `broadcast`, `restream` and `platform` as they happen, and `lagged` (how many events were missed) when the client fell behind.",
        "oneOf": [
            event("snapshot", json_of("MeetingView")),
            event("phase_changed", json_of("PhaseChangedEvent")),
            event("meeting_updated", json_of("MeetingView")),
            event("broadcast", json_of("BroadcastStatus")),
            event("restream", json_of("RestreamStatus")),
            event("platform", json_of("PlatformStatus")),
            event("lagged", serde_json::json!({ "type": "string", "pattern": "^[0-9]+$" })),
        ],
    });
    let pointer = "/paths/~1api~1meetings~1{id}~1events/get/responses/200/content/text~1event-stream";
    if let Some(stream) = document.pointer_mut(pointer).and_then(serde_json::Value::as_object_mut) {
        stream.insert("schema".to_owned(), events);
    }
}

fn is_problem(schema: Option<&RefOr<utoipa::openapi::schema::Schema>>) -> bool {
    matches!(schema, Some(RefOr::Ref(reference)) if reference.ref_location == PROBLEM_SCHEMA)
}

/// Every response documented with the problem schema as `application/json` is, in truth,
/// `application/problem+json`.
fn problems_as_problem_json(operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        let RefOr::T(response) = response else { continue };
        let problem = response
            .content
            .get("application/json")
            .is_some_and(|content| is_problem(content.schema.as_ref()));
        if problem && let Some(content) = response.content.shift_remove("application/json") {
            response.content.insert(PROBLEM_JSON.to_owned(), content);
        }
    }
}

fn add_shared_errors(operation: &mut Operation, has_path_parameter: bool) {
    let has_parameters = operation.parameters.as_ref().is_some_and(|parameters| !parameters.is_empty());
    let has_query = operation.parameters.as_ref().is_some_and(|parameters| {
        parameters.iter().any(|parameter| parameter.parameter_in == utoipa::openapi::path::ParameterIn::Query)
    });
    let has_json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.keys().any(|media_type| media_type.contains("json")));
    let has_body = operation.request_body.is_some();
    let needs_token = operation.security.as_ref().is_some_and(|requirements| !requirements.is_empty());
    let mut shared: Vec<(&str, &str)> = Vec::new();
    if has_parameters || has_body || has_path_parameter {
        shared.push(("400", "`bad_request`: a malformed path, query or body"));
    }
    if has_query || has_json_body {
        shared.push(("422", "`invalid_*`: a value out of its range, or a body well-formed but not valid"));
    }
    if has_json_body {
        shared.push(("413", "`payload_too_large`: the body is over the server's limit"));
        shared.push(("415", "`unsupported_media_type`: the body is not `application/json`"));
    }
    if has_path_parameter {
        shared.push(("404", "`not_found`: nothing at this path"));
    }
    if needs_token {
        shared.push(("401", "`unauthenticated`: no bearer token, or not a valid one"));
        shared.push(("403", "`forbidden`: the token's role may not do this"));
    }
    for (status, description) in shared {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM_JSON,
                        ContentBuilder::new().schema(Some(Ref::new(PROBLEM_SCHEMA))).build(),
                    )
                    .build(),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{
        HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder,
    };
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{OpenApiBuilder, PathsBuilder};

    fn problem_response() -> RefOr<utoipa::openapi::Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description("conflict")
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::new(PROBLEM_SCHEMA))).build(),
                )
                .build(),
        )
    }

    fn document(operation: Operation, path: &str) -> OpenApi {
        OpenApiBuilder::new()
            .paths(
                PathsBuilder::new()
                    .path(path, PathItemBuilder::new().operation(HttpMethod::Post, operation).build()),
            )
            .build()
    }

    fn statuses(openapi: &OpenApi, path: &str) -> Vec<String> {
        let operation = openapi.paths.paths[path].post.as_ref().expect("the operation");
        operation.responses.responses.keys().cloned().collect()
    }

    #[test]
    fn a_problem_is_documented_as_problem_json() {
        let mut operation = OperationBuilder::new().build();
        operation.responses.responses.insert("409".to_owned(), problem_response());
        let mut openapi = document(operation, "/things");
        document_errors(&mut openapi);
        let responses =
            &openapi.paths.paths["/things"].post.as_ref().expect("the operation").responses.responses;
        let RefOr::T(conflict) = &responses["409"] else { panic!("inline") };
        assert_eq!(conflict.content.keys().collect::<Vec<_>>(), [PROBLEM_JSON]);
    }

    #[test]
    fn the_shared_errors_follow_the_operations_shape() {
        // Nothing to get wrong: nothing is added.
        let mut plain = document(OperationBuilder::new().build(), "/plain");
        document_errors(&mut plain);
        assert!(statuses(&plain, "/plain").is_empty());

        // A JSON body, a path parameter and a token: every shared error.
        let mut operation = OperationBuilder::new()
            .parameter(ParameterBuilder::new().name("id").parameter_in(ParameterIn::Path).build())
            .request_body(Some(
                RequestBodyBuilder::new().content("application/json", ContentBuilder::new().build()).build(),
            ))
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        operation.responses.responses.insert("409".to_owned(), problem_response());
        let mut full = document(operation, "/things/{id}");
        document_errors(&mut full);
        assert_eq!(statuses(&full, "/things/{id}"), ["400", "401", "403", "404", "409", "413", "415", "422"]);

        // Query parameters alone: a malformed one (400), one out of its range (422).
        let operation = OperationBuilder::new()
            .parameter(ParameterBuilder::new().name("limit").parameter_in(ParameterIn::Query).build())
            .build();
        let mut queried = document(operation, "/list");
        document_errors(&mut queried);
        assert_eq!(statuses(&queried, "/list"), ["400", "422"]);
    }

    #[test]
    fn the_runtime_facts_go_on_requests_only() {
        let mut document = serde_json::json!({
            "paths": {
                "/api/issues": {
                    "post": { "requestBody": { "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/CreateIssue" } } } } },
                    "get": { "parameters": [{ "name": "category", "in": "query", "schema": { "type": "string" } }] },
                },
            },
            "components": { "schemas": {
                "CreateIssue": { "properties": {
                    "category": { "type": ["string", "null"] },
                    "title": { "type": "string", "minLength": 1 },
                    "planned_minutes": { "type": "integer" },
                } },
                "IssueView": { "properties": { "category": { "type": ["string", "null"] } } },
            } },
        });
        document_runtime(&mut document, &["roads", "a.b"], (20, 480));
        let request = &document["components"]["schemas"]["CreateIssue"]["properties"];
        let category = request["category"]["pattern"].as_str().expect("a pattern");
        assert!(category.contains("(?:roads|a\\.b)?"), "{category}");
        assert_eq!(request["title"]["pattern"], NON_BLANK);
        assert_eq!(
            (request["planned_minutes"]["minimum"].clone(), request["planned_minutes"]["maximum"].clone()),
            (20.into(), 480.into())
        );
        assert_eq!(document["paths"]["/api/issues"]["get"]["parameters"][0]["schema"]["pattern"], category);
        // A response may hold a category configured once and no longer.
        assert!(
            document["components"]["schemas"]["IssueView"]["properties"]["category"].get("pattern").is_none()
        );
    }

    #[test]
    fn non_blank_is_what_text_clean_keeps() {
        let class = regex_lite_class(NON_BLANK);
        for kept in ['a', 'ә', '1', '\u{0301}', '\u{1F600}'] {
            assert!(class(kept), "{kept:?} is kept");
        }
        for dropped in [
            ' ', '\t', '\n', '\u{0000}', '\u{0085}', '\u{00A0}', '\u{200B}', '\u{202E}', '\u{2066}',
            '\u{3000}', '\u{FEFF}',
        ] {
            assert!(!class(dropped), "{dropped:?} is blank to the server");
            assert!(
                kezdesu_core::text::clean(&format!("{dropped}"), 10, true).is_err(),
                "{dropped:?}: text::clean agrees"
            );
        }
    }

    /// Whether `c` is in NON_BLANK's negated class of single characters and ranges (`\xHH`,
    /// `\uHHHH`), read without a regex engine.
    fn regex_lite_class(pattern: &str) -> impl Fn(char) -> bool {
        let body =
            pattern.strip_prefix("[^").and_then(|rest| rest.strip_suffix(']')).expect("a negated class");
        let mut points = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let (digits, after) = if let Some(after) = rest.strip_prefix("\\x") {
                after.split_at(2)
            } else if let Some(after) = rest.strip_prefix("\\u") {
                after.split_at(4)
            } else {
                panic!("unexpected {rest}");
            };
            points.push(u32::from_str_radix(digits, 16).expect("hex"));
            rest = after;
            if let Some(after) = rest.strip_prefix('-') {
                rest = after;
                points.push(u32::MAX);
            }
        }
        let mut ranges = Vec::new();
        let mut index = 0;
        while index < points.len() {
            if points.get(index + 1) == Some(&u32::MAX) {
                ranges.push((points[index], points[index + 2]));
                index += 3;
            } else {
                ranges.push((points[index], points[index]));
                index += 1;
            }
        }
        move |c: char| !ranges.iter().any(|&(low, high)| (low..=high).contains(&(c as u32)))
    }
}
