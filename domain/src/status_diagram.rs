//! The workflow of each kind as a Mermaid state diagram, generated from the state machine in
//! `status.rs` (docs/WORKFLOW.md is this output; a test fails when it is stale).

use crate::application::ApplicationKind;
use crate::identity::Role;
use crate::status::{Action, Status, next_status};
use std::fmt::Write as _;

/// A Mermaid state id: the status with underscores (Mermaid reads `-` as part of an arrow).
fn id(status: Status) -> String {
    status.as_str().replace('-', "_")
}

/// The roles that may take `action` from `from`, and where it leads.
fn transition(kind: ApplicationKind, from: Status, action: Action) -> Option<(Status, Vec<Role>)> {
    let mut to = None;
    let mut roles = Vec::new();
    for role in Role::ALL {
        if let Ok(status) = next_status(kind, from, action, role) {
            to = Some(status);
            roles.push(role);
        }
    }
    to.map(|to| (to, roles))
}

/// The state diagram of `kind`: every status it can be in, every action between two of them
/// with the roles that may take it. Assigning (which keeps the status) is left out, as noted.
pub fn mermaid(kind: ApplicationKind) -> String {
    let mut text = String::from("stateDiagram-v2\n");
    let statuses: Vec<Status> = Status::ALL
        .into_iter()
        .filter(|s| s.applies_to(kind))
        .collect();
    for status in &statuses {
        let _ = writeln!(text, "    state \"{}\" as {}", status.as_str(), id(*status));
    }
    let _ = writeln!(
        text,
        "    [*] --> {}: {} (applicant)",
        id(Status::Draft),
        Action::Create.as_str()
    );
    for from in &statuses {
        for action in Action::ALL {
            if action == Action::Assign {
                continue;
            }
            if let Some((to, roles)) = transition(kind, *from, action) {
                let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                let _ = writeln!(
                    text,
                    "    {} --> {}: {} ({})",
                    id(*from),
                    id(to),
                    action.as_str(),
                    roles.join(", ")
                );
            }
        }
    }
    for status in statuses.iter().filter(|s| s.is_final()) {
        let _ = writeln!(text, "    {} --> [*]", id(*status));
    }
    text
}

/// docs/WORKFLOW.md: both diagrams with a few words each.
pub fn workflow_document() -> String {
    let mut text = String::from(
        "# The workflow of an application\n\n\
         Generated from the state machine in `domain/src/status.rs` by \
         `domain::status_diagram::workflow_document` (a test fails when this file is stale; \
         `UPDATE_DOCS=1 cargo test workflow_document` writes it). Each arrow is an action, with \
         the roles that may take it. A supervisor may also assign any open application to \
         another department or operator; that keeps the status and is not drawn.\n",
    );
    for kind in ApplicationKind::ALL {
        let title = match kind {
            ApplicationKind::MeterDamageInvestigation => "Meter damage investigation",
            ApplicationKind::AccountChange => "Account transfer or name change",
        };
        let _ = write!(
            text,
            "\n## {title} (`{}`)\n\n```mermaid\n{}```\n",
            kind.as_str(),
            mermaid(kind)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_of_a_kind_is_reached_and_every_final_one_ends() {
        for kind in ApplicationKind::ALL {
            let diagram = mermaid(kind);
            for status in Status::ALL.into_iter().filter(|s| s.applies_to(kind)) {
                let target = format!("--> {}", id(status));
                assert!(
                    diagram.contains(&target),
                    "{status:?} is never reached:\n{diagram}"
                );
                if status.is_final() {
                    assert!(diagram.contains(&format!("{} --> [*]", id(status))));
                } else {
                    assert!(
                        diagram.contains(&format!("    {} --> ", id(status))),
                        "nothing leads out of {status:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_meter_damage_path_is_drawn_with_its_roles() {
        let diagram = mermaid(ApplicationKind::MeterDamageInvestigation);
        assert!(diagram.contains("    draft --> submitted: submit (applicant)\n"));
        assert!(diagram.contains("    submitted --> accepted: accept (operator, supervisor)\n"));
        assert!(diagram.contains("    inspected --> completed: complete (operator, supervisor)\n"));
        assert!(!diagram.contains("under_review"));
        assert!(!diagram.contains("assign"));
    }
}
