//! The published contract is generated from the code; this fails when `openapi.yaml` is stale.

#[test]
fn openapi_yaml_is_up_to_date() {
    let generated =
        api::openapi::contract_yaml().unwrap_or_else(|e| panic!("generating the contract: {e}"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == committed,
        "openapi.yaml is stale: run `cargo run -- openapi` and commit the result"
    );
}

#[test]
fn every_operation_documents_success_and_problems_with_examples() {
    let api = api::openapi::openapi(api::config::Mode::Development);
    assert_eq!(
        api::openapi::operations_without_problem_table(&api),
        Vec::<String>::new()
    );
    let document = serde_json::to_value(&api).unwrap_or_default();
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.len() >= 12);
    for (path, item) in paths {
        for (method, operation) in item.as_object().cloned().unwrap_or_default() {
            let responses = operation["responses"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let success: Vec<&String> = responses.keys().filter(|s| s.starts_with('2')).collect();
            assert!(
                !success.is_empty(),
                "{method} {path} has no success response"
            );
            for (status, response) in &responses {
                if status.starts_with('2') {
                    continue;
                }
                let examples = response["content"]["application/problem+json"]["examples"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    !examples.is_empty(),
                    "{method} {path} {status} has no problem examples"
                );
            }
            // Open operations say so with `security: [{}]`; the others need a token.
            let secured = operation["security"]
                .as_array()
                .is_some_and(|requirements| {
                    requirements
                        .iter()
                        .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
                });
            if secured {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
        }
    }
}

/// The development document (every route, the token route too) and its component schemas.
fn development_document() -> (
    serde_json::Value,
    serde_json::Map<String, serde_json::Value>,
) {
    let document = serde_json::to_value(api::openapi::openapi(api::config::Mode::Development))
        .unwrap_or_default();
    let schemas = document["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    (document, schemas)
}

#[test]
fn every_reference_resolves_and_files_are_binary() {
    let (document, schemas) = development_document();
    let text = document.to_string();
    for reference in text
        .split("\"$ref\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
    {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or(reference);
        assert!(schemas.contains_key(name), "{reference} does not resolve");
    }
    let pdf = &document["paths"]["/api/v1/document-links/{number}/{id}"]["get"]["responses"]["200"]
        ["content"]["application/pdf"]["schema"];
    let schema = if pdf["$ref"].is_string() {
        schemas.get("PdfFile").cloned().unwrap_or_default()
    } else {
        pdf.clone()
    };
    assert_eq!(
        (schema["type"].clone(), schema["format"].clone()),
        (serde_json::json!("string"), serde_json::json!("binary")),
        "{pdf}"
    );
}

/// Whether a schema carries an example of itself: its own `example`/`examples`, or, for a
/// reference, an array or an optional value (`oneOf` with `null`), that of what it stands for.
fn schema_has_example(
    schema: &serde_json::Value,
    schemas: &serde_json::Map<String, serde_json::Value>,
    depth: usize,
) -> bool {
    if depth > 8 {
        return false;
    }
    let own = schema.get("example").is_some()
        || schema["examples"]
            .as_array()
            .is_some_and(|examples| !examples.is_empty());
    if own {
        return true;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or(reference);
        return schemas
            .get(name)
            .is_some_and(|target| schema_has_example(target, schemas, depth + 1));
    }
    if schema["type"] == "array" {
        return schema_has_example(&schema["items"], schemas, depth + 1);
    }
    // `Option<T>`: every alternative but `null` must have one.
    let alternatives = schema["oneOf"]
        .as_array()
        .or_else(|| schema["anyOf"].as_array())
        .cloned()
        .unwrap_or_default();
    let values: Vec<&serde_json::Value> = alternatives
        .iter()
        .filter(|alternative| alternative["type"] != "null")
        .collect();
    !values.is_empty()
        && values
            .iter()
            .all(|alternative| schema_has_example(alternative, schemas, depth + 1))
}

/// Whether a media type of a request or response has an example: on itself (`example`,
/// `examples`) or on its schema.
fn media_type_has_example(
    media: &serde_json::Value,
    schemas: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    media.get("example").is_some()
        || media["examples"]
            .as_object()
            .is_some_and(|examples| !examples.is_empty())
        || schema_has_example(&media["schema"], schemas, 0)
}

/// A PDF is bytes, and its schema is `type: string, format: binary`: JSON and YAML hold text, so
/// no value written in the contract is a PDF's bytes (a description of them would not be a valid
/// example, and one `externalValue` would point to a file no deployment serves). PDFs are the one
/// content without an example.
const CONTENT_WITHOUT_EXAMPLES: &[&str] = &["application/pdf"];

#[test]
fn every_operation_has_a_summary_a_description_and_examples() {
    let (document, schemas) = development_document();
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    let mut faults = Vec::new();
    let mut operations = 0;
    for (path, item) in &paths {
        for (method, operation) in item.as_object().cloned().unwrap_or_default() {
            operations += 1;
            let name = format!("{} {path}", method.to_uppercase());
            let summary = operation["summary"].as_str().unwrap_or_default().trim();
            let description = operation["description"].as_str().unwrap_or_default().trim();
            if summary.is_empty() {
                faults.push(format!("{name}: no summary"));
            }
            if description.is_empty() || description == summary {
                faults.push(format!("{name}: no description beside its summary"));
            }
            let requests = operation["requestBody"]["content"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (content_type, media) in &requests {
                if !media_type_has_example(media, &schemas) {
                    faults.push(format!("{name}: request {content_type} has no example"));
                }
            }
            let responses = operation["responses"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (status, response) in &responses {
                for (content_type, media) in
                    response["content"].as_object().cloned().unwrap_or_default()
                {
                    if CONTENT_WITHOUT_EXAMPLES.contains(&content_type.as_str()) {
                        continue;
                    }
                    if !media_type_has_example(&media, &schemas) {
                        faults.push(format!("{name}: {status} {content_type} has no example"));
                    }
                }
            }
        }
    }
    assert!(operations >= 38, "only {operations} operations");
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}
