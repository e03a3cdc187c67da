//! Documents generated from the code must not fall behind it: docs/WORKFLOW.md from the
//! domain's state machine, docs/ERRORS.md from the problem codes, docs/CONFIGURATION.md from the
//! settings' list. `UPDATE_DOCS=1` rewrites them.

fn check(file: &str, generated: &str, test: &str) {
    let path = format!("{}/../docs/{file}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, generated).unwrap_or_else(|e| panic!("{e}"));
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/{file} is stale: run `UPDATE_DOCS=1 cargo test {test}` and commit it"
    );
}

#[test]
fn workflow_document_follows_the_state_machine() {
    check(
        "WORKFLOW.md",
        &domain::status_diagram::workflow_document(),
        "workflow_document",
    );
}

#[test]
fn error_catalogue_lists_every_problem_code() {
    check(
        "ERRORS.md",
        &api::translations::error_catalogue(),
        "error_catalogue",
    );
}

#[test]
fn configuration_document_lists_every_setting() {
    check(
        "CONFIGURATION.md",
        &api::config_reference::markdown(),
        "configuration_document",
    );
}
