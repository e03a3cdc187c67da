//! Hand-written SQL that the connection keeps prepared.
//!
//! Diesel's `sql_query` marks its statement as unsafe to cache, so PostgreSQL parses and plans it
//! on every call; for the statement that writes an event with its messages (a CTE over three
//! tables) that planning was a large part of the database's time a submission. A
//! [`PreparedSql`] is fixed text: diesel's statement cache keys it by that text and PostgreSQL
//! plans it once a connection, as it does the statements of diesel's own query builder.
//!
//! The text numbers its parameters `$1`, `$2`, … in the order they are bound; a parameter may be
//! used more than once. A `$` not followed by a number is sent as it is; a `$n` inside a string
//! literal would be taken for a parameter, so the text keeps none there.

use diesel::RunQueryDsl;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::{Error as DieselError, QueryResult};
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use std::marker::PhantomData;

/// A statement of fixed text and its bound values, see the module's documentation.
#[derive(Debug)]
#[must_use = "a statement runs only when executed"]
pub(crate) struct PreparedSql<Binds> {
    text: &'static str,
    binds: Binds,
}

/// Starts a statement of this text with no value bound yet.
pub(crate) fn prepared_sql(text: &'static str) -> PreparedSql<()> {
    PreparedSql { text, binds: () }
}

impl<Binds> PreparedSql<Binds> {
    /// Binds the next parameter (`$1` first) as a value of SQL type `ST`.
    pub(crate) fn bind<ST, Value>(self, value: Value) -> PreparedSql<(Binds, Bind<ST, Value>)> {
        PreparedSql {
            text: self.text,
            binds: (
                self.binds,
                Bind {
                    value,
                    sql_type: PhantomData,
                },
            ),
        }
    }
}

/// One bound value and its SQL type.
#[derive(Debug)]
pub(crate) struct Bind<ST, Value> {
    value: Value,
    sql_type: PhantomData<ST>,
}

/// The values bound so far, reached by the position of their parameter (0 for `$1`).
pub(crate) trait BoundValues<DB: Backend> {
    /// How many values are bound.
    const COUNT: usize;

    fn walk_value<'b>(&'b self, position: usize, out: AstPass<'_, 'b, DB>) -> QueryResult<()>;
}

impl<DB: Backend> BoundValues<DB> for () {
    const COUNT: usize = 0;

    fn walk_value<'b>(&'b self, position: usize, _: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        Err(DieselError::QueryBuilderError(
            format!(
                "the statement's parameter ${} has no value bound",
                position + 1
            )
            .into(),
        ))
    }
}

impl<DB, Earlier, ST, Value> BoundValues<DB> for (Earlier, Bind<ST, Value>)
where
    DB: Backend + HasSqlType<ST>,
    Earlier: BoundValues<DB>,
    Value: ToSql<ST, DB>,
{
    const COUNT: usize = Earlier::COUNT + 1;

    fn walk_value<'b>(&'b self, position: usize, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if position == Earlier::COUNT {
            out.push_bind_param::<ST, Value>(&self.1.value)
        } else {
            self.0.walk_value(position, out)
        }
    }
}

/// The text cut at its parameters: the SQL before each `$n`, with `n - 1` (none where the `$`
/// is no parameter), and the rest.
fn pieces(text: &str) -> (Vec<(&str, Option<usize>)>, &str) {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        let after = &rest[dollar + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let Some(number) = after[..digits].parse::<usize>().ok().filter(|n| *n > 0) else {
            // Not a parameter: the text stays as it is (it is sent and PostgreSQL judges it).
            pieces.push((&rest[..=dollar], None));
            rest = after;
            continue;
        };
        pieces.push((&rest[..dollar], Some(number - 1)));
        rest = &after[digits..];
    }
    (pieces, rest)
}

impl<DB, Binds> QueryFragment<DB> for PreparedSql<Binds>
where
    DB: Backend,
    Binds: BoundValues<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let (pieces, rest) = pieces(self.text);
        for (sql, position) in pieces {
            out.push_sql(sql);
            if let Some(position) = position {
                if position >= Binds::COUNT {
                    return Err(DieselError::QueryBuilderError(
                        format!(
                            "the statement uses ${} but binds {}",
                            position + 1,
                            Binds::COUNT
                        )
                        .into(),
                    ));
                }
                self.binds.walk_value(position, out.reborrow())?;
            }
        }
        out.push_sql(rest);
        Ok(())
    }
}

impl<Binds> QueryId for PreparedSql<Binds> {
    type QueryId = ();
    // Not the type: the text is the statement cache's key.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Binds, Conn> RunQueryDsl<Conn> for PreparedSql<Binds> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_cut_at_each_numbered_parameter() {
        let (cut, rest) = pieces("SELECT $1, $2::TEXT[], $1 WHERE x = $12");
        assert_eq!(
            cut,
            [
                ("SELECT ", Some(0)),
                (", ", Some(1)),
                ("::TEXT[], ", Some(0)),
                (" WHERE x = ", Some(11))
            ]
        );
        assert_eq!(rest, "");
        let (cut, rest) = pieces("SELECT 1");
        assert!(cut.is_empty());
        assert_eq!(rest, "SELECT 1");
    }

    #[test]
    fn a_dollar_that_is_no_parameter_stays_in_the_text() {
        let (cut, rest) = pieces("SELECT '$' || $1 || $0");
        assert_eq!(
            cut,
            [("SELECT '$", None), ("' || ", Some(0)), (" || $", None)]
        );
        assert_eq!(rest, "0");
    }
}
