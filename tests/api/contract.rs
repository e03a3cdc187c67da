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

#[test]
fn every_reference_resolves_and_files_are_binary() {
    let document = serde_json::to_value(api::openapi::openapi(api::config::Mode::Development))
        .unwrap_or_default();
    let schemas = document["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
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
