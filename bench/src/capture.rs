//! The SQL the service really issues for each scenario, read from PostgreSQL's own statement
//! log, and turned into pgbench scripts that replay it: the database's ceiling for that work.
//!
//! The capture sends sample requests one at a time, each after a marker statement of its own
//! connection, with `log_statement = all`; every statement of the service's connections logged
//! between two markers belongs to the request between them (the service answers only after its
//! transaction ends, and the log keeps the order in which the backends wrote it).
//!
//! Replaying a submission as captured would insert the same application number again, so values
//! that must be unique per submission (the application number, the target held by an open
//! application, the event ids) become pgbench variables drawn at random for every transaction.
//! Everything else is replayed as captured, as prepared statements with bound parameters as the
//! service uses them (pgbench `-M prepared`).

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One statement as the service ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// `$1`, `$2`, … in order; `None` is NULL.
    pub parameters: Vec<Option<String>>,
}

/// The statements of one sample request.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub statements: Vec<Statement>,
    /// Values that must differ in every replayed transaction (see the module comment).
    pub unique_values: Vec<String>,
    /// A value that must be unique where a statement inserts an application (its target).
    pub unique_in_application_insert: Vec<String>,
}

pub const MARKER: &str = "bench-capture-marker:";

/// Splits one CSV record off the front of `input` (RFC 4180 quoting, as PostgreSQL's csvlog
/// writes it: fields in double quotes may hold commas, newlines and doubled quotes).
fn csv_record(input: &str) -> Option<(Vec<String>, &str)> {
    if input.is_empty() {
        return None;
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = input.char_indices().peekable();
    let mut quoted = false;
    while let Some((at, c)) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek().is_some_and(|(_, next)| *next == '"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => fields.push(std::mem::take(&mut field)),
                '\n' => {
                    fields.push(field);
                    return Some((fields, input.get(at + 1..).unwrap_or_default()));
                }
                '\r' => {}
                other => field.push(other),
            }
        }
    }
    fields.push(field);
    Some((fields, ""))
}

/// Parses the `parameters: $1 = '…', $2 = NULL` detail of a logged execute.
pub fn parameters(detail: &str) -> Result<Vec<Option<String>>> {
    let Some(mut rest) = detail.strip_prefix("parameters: ") else {
        return Ok(Vec::new());
    };
    let mut values = Vec::new();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once(" = ")
            .with_context(|| format!("a parameter without a value in {detail:?}"))?;
        let expected = format!("${}", values.len() + 1);
        if name != expected {
            bail!("parameters out of order in {detail:?}");
        }
        if let Some(after_null) = after.strip_prefix("NULL") {
            values.push(None);
            rest = after_null;
        } else {
            let mut chars = after
                .strip_prefix('\'')
                .with_context(|| format!("an unquoted parameter in {detail:?}"))?
                .char_indices()
                .peekable();
            let mut value = String::new();
            let mut end = None;
            while let Some((at, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                        value.push('\'');
                        chars.next();
                    } else {
                        end = Some(at + 2);
                        break;
                    }
                } else {
                    value.push(c);
                }
            }
            let end = end.with_context(|| format!("an unterminated parameter in {detail:?}"))?;
            values.push(Some(value));
            rest = after.get(end..).unwrap_or_default();
        }
        rest = rest.strip_prefix(", ").unwrap_or(rest);
    }
    Ok(values)
}

/// Reads the statements logged from `offset` on, grouped by the marker they follow.
pub fn read_log(
    log: &Path,
    offset: u64,
    database: &str,
) -> Result<BTreeMap<String, Vec<Statement>>> {
    let bytes = std::fs::read(log).with_context(|| format!("reading {}", log.display()))?;
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let text = String::from_utf8_lossy(bytes.get(start..).unwrap_or_default()).into_owned();
    let mut rest = text.as_str();
    let mut groups: BTreeMap<String, Vec<Statement>> = BTreeMap::new();
    let mut current: Option<String> = None;
    while let Some((fields, after)) = csv_record(rest) {
        rest = after;
        let field = |i: usize| fields.get(i).map_or("", String::as_str);
        let (db, message, detail, application) = (field(2), field(13), field(14), field(22));
        if db != database {
            continue;
        }
        if let Some(at) = message.find(MARKER) {
            let name = message
                .get(at + MARKER.len()..)
                .unwrap_or_default()
                .trim_end_matches(['\'', ' ', ';']);
            current = Some(name.to_owned());
            continue;
        }
        // psql is the capture's own connection; the service's connections have no name.
        if application == "psql" {
            continue;
        }
        let sql = if let Some(statement) = message.strip_prefix("statement: ") {
            statement
        } else if let Some(execute) = message.strip_prefix("execute ") {
            execute
                .split_once(": ")
                .map(|(_, sql)| sql)
                .with_context(|| format!("an execute without SQL: {message:?}"))?
        } else {
            continue;
        };
        if let Some(marker) = &current {
            groups.entry(marker.clone()).or_default().push(Statement {
                sql: sql.to_owned(),
                parameters: parameters(detail)?,
            });
        }
    }
    Ok(groups)
}

/// The elements of an array parameter (`{a,b}` as PostgreSQL writes it) that holds only UUIDs.
fn uuid_array(value: &str) -> Option<Vec<&str>> {
    let elements: Vec<&str> = value
        .strip_prefix('{')?
        .strip_suffix('}')?
        .split(',')
        .collect();
    elements
        .iter()
        .all(|element| looks_like_uuid(element))
        .then_some(elements)
}

fn looks_like_uuid(value: &str) -> bool {
    value.len() == 36
        && value.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// A pgbench script for one captured request. Parameters become variables named after the
/// script (`s{script}_{statement}_{n}`) and given with `-D`; unique values become random ones.
pub fn pgbench_script(
    script: usize,
    captured: &Captured,
    definitions: &mut Vec<(String, String)>,
) -> String {
    let mut text = String::new();
    let mut unique: BTreeMap<String, String> = BTreeMap::new();
    let mut unique_variable = |value: &str, text: &mut String| -> String {
        let count = unique.len();
        unique
            .entry(value.to_owned())
            .or_insert_with(|| {
                let name = format!("u{count}");
                let _ = writeln!(text, "\\set {name} random(1, 1000000000000000)");
                name
            })
            .clone()
    };
    let mut body = String::new();
    for (index, statement) in captured.statements.iter().enumerate() {
        let mut sql = statement.sql.clone();
        // The application's INSERT may be the first CTE of the statement that writes it.
        let inserts_application = sql.contains("INSERT INTO \"applications\"");
        for (n, value) in statement.parameters.iter().enumerate().rev() {
            let placeholder = format!("${}", n + 1);
            let replacement = match value {
                None => "NULL".to_owned(),
                Some(v)
                    if captured.unique_values.contains(v)
                        || looks_like_uuid(v)
                        || (inserts_application
                            && captured.unique_in_application_insert.contains(v)) =>
                {
                    format!(":{}", unique_variable(v, &mut text))
                }
                // The event ids of a statement that writes several events at once, as arrays.
                Some(v) if uuid_array(v).is_some() => {
                    let variables: Vec<String> = uuid_array(v)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|id| format!(":{}", unique_variable(id, &mut text)))
                        .collect();
                    format!("ARRAY[{}]::TEXT[]", variables.join(", "))
                }
                Some(v) => {
                    let name = format!("s{script}_{index}_{}", n + 1);
                    definitions.push((name.clone(), v.clone()));
                    format!(":{name}")
                }
            };
            sql = sql.replace(&placeholder, &replacement);
        }
        let _ = writeln!(body, "{};", sql.trim_end_matches(';'));
    }
    text.push_str(&body);
    text
}

/// pgbench's scripts and the values of their variables (`-D name=value`).
pub type Scripts = (Vec<PathBuf>, Vec<(String, String)>);

/// Writes the scripts of a scenario; gives their paths and the variable definitions.
pub fn write_scripts(dir: &Path, scenario: &str, samples: &[Captured]) -> Result<Scripts> {
    std::fs::create_dir_all(dir)?;
    let mut paths = Vec::new();
    let mut definitions = Vec::new();
    for (i, captured) in samples.iter().enumerate() {
        let path = dir.join(format!("{scenario}-{i}.sql"));
        std::fs::write(&path, pgbench_script(i, captured, &mut definitions))?;
        paths.push(path);
    }
    Ok((paths, definitions))
}

#[cfg(test)]
#[allow(clippy::panic, reason = "tests fail by panicking")]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_with_quotes_and_nulls() {
        let parsed = parameters("parameters: $1 = 'it''s, here', $2 = NULL, $3 = '42'")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            parsed,
            vec![Some("it's, here".to_owned()), None, Some("42".to_owned())]
        );
        assert!(parameters("").unwrap_or_else(|e| panic!("{e}")).is_empty());
        assert!(parameters("parameters: $2 = '1'").is_err());
    }

    #[test]
    fn csv_records_keep_quoted_commas_and_newlines() {
        let (fields, rest) =
            csv_record("a,\"b,\"\"c\"\"\nd\",,e\nnext").unwrap_or_else(|| panic!("no record"));
        assert_eq!(fields, vec!["a", "b,\"c\"\nd", "", "e"]);
        assert_eq!(rest, "next");
    }

    #[test]
    fn event_ids_given_as_arrays_are_drawn_anew_and_kept_together() {
        let first = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
        let second = "0a1b2c3d-4e5f-4a6b-8c7d-6f1c2d3e4a5b";
        let captured = Captured {
            statements: vec![Statement {
                sql: "WITH app AS (INSERT INTO \"applications\" (\"open_target\") VALUES ($1)) \
                      SELECT $2::TEXT[], $3::TEXT[], $4::TEXT[]"
                    .to_owned(),
                parameters: vec![
                    Some("subscriber:1000000001".to_owned()),
                    Some(format!("{{{first},{second}}}")),
                    Some(format!("{{{first},{first},{second}}}")),
                    Some("{sms,email}".to_owned()),
                ],
            }],
            unique_values: Vec::new(),
            unique_in_application_insert: vec!["subscriber:1000000001".to_owned()],
        };
        let mut definitions = Vec::new();
        let script = pgbench_script(0, &captured, &mut definitions);
        assert!(
            script.ends_with(
                "SELECT ARRAY[:u0, :u1]::TEXT[]::TEXT[], ARRAY[:u0, :u0, :u1]::TEXT[]::TEXT[], \
                 :s0_0_4::TEXT[];\n"
            ),
            "{script}"
        );
        assert!(script.contains("VALUES (:u2)"), "{script}");
        assert_eq!(
            definitions,
            vec![("s0_0_4".to_owned(), "{sms,email}".to_owned())]
        );
    }

    #[test]
    fn scripts_bind_parameters_and_draw_unique_values() {
        let captured = Captured {
            statements: vec![
                Statement {
                    sql: "INSERT INTO \"applications\" (\"number\", \"open_target\", \"x\") VALUES ($1, $2, $3)"
                        .to_owned(),
                    parameters: vec![
                        Some("MD-2026-000001".to_owned()),
                        Some("1000000001".to_owned()),
                        None,
                    ],
                },
                Statement {
                    sql: "SELECT 1 FROM \"t\" WHERE \"number\" = $1 AND \"code\" = $2 AND \"id\" = $3"
                        .to_owned(),
                    parameters: vec![
                        Some("MD-2026-000001".to_owned()),
                        Some("1000000001".to_owned()),
                        Some("6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f".to_owned()),
                    ],
                },
            ],
            unique_values: vec!["MD-2026-000001".to_owned()],
            unique_in_application_insert: vec!["1000000001".to_owned()],
        };
        let mut definitions = Vec::new();
        let script = pgbench_script(3, &captured, &mut definitions);
        assert_eq!(
            script,
            "\\set u0 random(1, 1000000000000000)\n\
             \\set u1 random(1, 1000000000000000)\n\
             \\set u2 random(1, 1000000000000000)\n\
             INSERT INTO \"applications\" (\"number\", \"open_target\", \"x\") VALUES (:u1, :u0, NULL);\n\
             SELECT 1 FROM \"t\" WHERE \"number\" = :u1 AND \"code\" = :s3_1_2 AND \"id\" = :u2;\n"
        );
        assert_eq!(
            definitions,
            vec![("s3_1_2".to_owned(), "1000000001".to_owned())]
        );
    }
}
