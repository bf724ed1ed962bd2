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
}
