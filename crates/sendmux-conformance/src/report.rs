//! The outcome of one validation: a list of violations, each precise enough
//! to be turned into an API error entry or read by a person.

use std::fmt;

/// Every problem found in one request or one response.
///
/// An empty report ([`Report::is_ok`]) means the message conforms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The `operationId` the message was matched to, when the route is known.
    pub operation_id: Option<String>,
    /// The problems, in the order they were found (path, query, headers, body).
    pub violations: Vec<Violation>,
}

impl Report {
    /// A report for `operation_id` with no violations yet.
    pub fn new(operation_id: Option<String>) -> Self {
        Self {
            operation_id,
            violations: Vec::new(),
        }
    }

    /// `true` when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// The violations of one kind.
    pub fn of_kind(&self, kind: ViolationKind) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(move |v| v.kind == kind)
    }

    /// `(kind, pointer)` of every violation, handy in assertions.
    pub fn summary(&self) -> Vec<(ViolationKind, &str)> {
        self.violations
            .iter()
            .map(|v| (v.kind, v.pointer.as_str()))
            .collect()
    }

    pub(crate) fn push(
        &mut self,
        kind: ViolationKind,
        location: Location,
        pointer: impl Into<String>,
        constraint: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.violations.push(Violation {
            kind,
            location,
            pointer: pointer.into(),
            constraint: constraint.into(),
            message: message.into(),
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self
            .operation_id
            .as_deref()
            .unwrap_or("(unknown operation)");
        match self.violations.len() {
            0 => write!(f, "{op}: ok"),
            n => {
                write!(f, "{op}: {n} violation{}", if n == 1 { "" } else { "s" })?;
                for v in &self.violations {
                    write!(f, "\n  - {v}")?;
                }
                Ok(())
            }
        }
    }
}

/// One problem with one part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What kind of problem it is.
    pub kind: ViolationKind,
    /// Which part of the message it is in.
    pub location: Location,
    /// Where exactly: for a body, the JSON pointer of the offending value
    /// (`/rules/3/type`; for a missing or unexpected property, the pointer the
    /// property would have, `/domain`); for a parameter or header, `/<name>`
    /// (`/limit`, `/Idempotency-Key`); empty when the whole message is meant.
    pub pointer: String,
    /// The rule that was broken, starting with its keyword:
    /// `required`, `type: integer`, `enum: send_only | send_receive`,
    /// `maxLength: 255`, `additionalProperties: false`, `status`, ...
    pub constraint: String,
    /// A sentence for people.
    pub message: String,
}

impl Violation {
    /// The pointer as a dotted field path, the form the API uses in
    /// `errors[].field`: `/rules/3/type` becomes `rules.3.type`,
    /// `/Idempotency-Key` becomes `Idempotency-Key`, and `""` stays `""`.
    pub fn field_path(&self) -> String {
        self.pointer
            .split('/')
            .skip(1)
            .map(|token| token.replace("~1", "/").replace("~0", "~"))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The keyword of [`constraint`](Self::constraint): the part before `:`.
    pub fn keyword(&self) -> &str {
        self.constraint
            .split_once(':')
            .map_or(self.constraint.as_str(), |(k, _)| k)
            .trim()
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(whole)"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{} {} {pointer} [{}]: {}",
            self.location, self.kind, self.constraint, self.message
        )
    }
}

/// What kind of problem a [`Violation`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ViolationKind {
    /// No path template matches the path.
    UnknownRoute,
    /// The path matches a template, but not with this method.
    MethodNotAllowed,
    /// The operation does not declare this status code (nor a range or default covering it).
    UndeclaredStatus,
    /// The `Content-Type` is missing or not one the operation declares.
    UndeclaredContentType,
    /// A required header is absent.
    MissingHeader,
    /// A header value does not match its schema.
    InvalidHeader,
    /// A required path or query parameter is absent.
    MissingParameter,
    /// A path or query parameter does not match its schema.
    InvalidParameter,
    /// The body is not valid JSON (or not UTF-8 where text is declared).
    InvalidBody,
    /// The JSON body does not match its schema.
    SchemaViolation,
    /// A body is present where none is allowed (for example a `304`).
    UnexpectedBody,
    /// A body is required but absent.
    MissingBody,
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownRoute => "unknown route",
            Self::MethodNotAllowed => "method not allowed",
            Self::UndeclaredStatus => "undeclared status",
            Self::UndeclaredContentType => "undeclared content type",
            Self::MissingHeader => "missing header",
            Self::InvalidHeader => "invalid header",
            Self::MissingParameter => "missing parameter",
            Self::InvalidParameter => "invalid parameter",
            Self::InvalidBody => "invalid body",
            Self::SchemaViolation => "schema violation",
            Self::UnexpectedBody => "unexpected body",
            Self::MissingBody => "missing body",
        })
    }
}

/// Which part of the message a [`Violation`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// The method, path, or a path parameter (and the status line of a response).
    Path,
    /// The query string.
    Query,
    /// A header.
    Header,
    /// The body.
    Body,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Path => "path",
            Self::Query => "query",
            Self::Header => "header",
            Self::Body => "body",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(pointer: &str) -> Violation {
        Violation {
            kind: ViolationKind::SchemaViolation,
            location: Location::Body,
            pointer: pointer.to_owned(),
            constraint: "enum: allow | deny".to_owned(),
            message: "not one of the allowed values".to_owned(),
        }
    }

    #[test]
    fn field_path_turns_pointers_into_dotted_paths() {
        assert_eq!(violation("/rules/3/type").field_path(), "rules.3.type");
        assert_eq!(violation("/domain").field_path(), "domain");
        assert_eq!(violation("/a~1b/c~0d").field_path(), "a/b.c~d");
        assert_eq!(violation("").field_path(), "");
    }

    #[test]
    fn keyword_is_the_constraint_prefix() {
        assert_eq!(violation("/x").keyword(), "enum");
    }

    #[test]
    fn display_lists_every_violation() {
        let mut report = Report::new(Some("op".into()));
        assert_eq!(report.to_string(), "op: ok");
        report.violations.push(violation("/rules/0/type"));
        let text = report.to_string();
        assert!(text.starts_with("op: 1 violation\n"), "{text}");
        assert!(
            text.contains("body schema violation /rules/0/type [enum: allow | deny]"),
            "{text}"
        );
    }
}
