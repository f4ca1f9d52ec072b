//! Checks every operation document before validation, over HTTP and
//! WebSocket alike, in time linear in its size:
//!
//! - its cost: fields counted as execution would expand them (every alias
//!   and `__typename` included), with each fragment counted once and
//!   remembered, so that a fragment doubling itself level by level costs a
//!   handful of additions instead of exponential work in the validator;
//! - its size in nodes (selections, arguments, directives, variables);
//! - its text: no string argument, default value or variable carries a NUL
//!   or a control character other than line feed and tab.
//!
//! It also gives every error of a response its code and caps their number,
//! and `order` keeps response fields in the order they were asked for.

mod cache;
pub mod order;

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, FragmentDefinition, OperationType,
    Selection, SelectionSet,
};
use async_graphql::{
    ErrorExtensionValues, Name, Positioned, Request, ServerError, ServerResult, Variables,
};
use async_graphql_value::{ConstValue, Value};

use crate::text::allowed_in_multi_line;

/// Most errors one response carries; the rest are counted in a last one.
pub const MAX_ERRORS: usize = 20;

/// The limits a document is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Most fields one operation selects once fragments are expanded.
    pub fields: u64,
    /// Deepest selection, fragments expanded.
    pub depth: u64,
    /// Most nodes in the document as written.
    pub nodes: u64,
}

/// A request whose document passed the checks, parsed once: the executor
/// takes the parsed document as it is, and the responses are put in the
/// order of its selection sets.
pub struct Checked {
    document: Arc<ExecutableDocument>,
    operation_name: Option<String>,
}

impl DocumentLimits {
    /// Checks a request's variables and document before the executor sees
    /// them (its own checks expand fragment spreads), and hands it the
    /// parsed document.
    pub fn admit(&self, request: &mut Request) -> ServerResult<Checked> {
        check_variables(&request.variables)?;
        let document = match cache::get(&request.query, *self) {
            Some(document) => document,
            None => {
                let parsed = parse(&request.query)?;
                self.check(&parsed)?;
                let document = Arc::new(parsed);
                cache::put(&request.query, *self, document.clone());
                document
            }
        };
        required_variables(&document, &request.variables)?;
        Ok(Checked::of(request, document))
    }
}

fn parse(query: &str) -> ServerResult<ExecutableDocument> {
    async_graphql::parser::parse_query(query)
        .map_err(|err| with_code(ServerError::from(err), "BAD_USER_INPUT"))
}

impl Checked {
    /// A document already checked, or one no client wrote.
    pub fn parse(request: &mut Request) -> ServerResult<Self> {
        let parsed = parse(&request.query)?;
        Ok(Self::of(request, Arc::new(parsed)))
    }

    fn of(request: &mut Request, document: Arc<ExecutableDocument>) -> Self {
        request.set_parsed_query((*document).clone());
        Self {
            document,
            operation_name: request.operation_name.clone(),
        }
    }

    /// The operation's type and its name in the document.
    pub fn operation(&self) -> Option<(OperationType, Option<String>)> {
        operation(&self.document, self.operation_name.as_deref())
            .map(|(ty, name)| (ty, name.map(|n| n.to_string())))
    }

    /// Puts a response's objects in the order of their selection sets.
    pub fn order(&self, response: &mut async_graphql::Response) {
        order::order_response(&self.document, self.operation_name.as_deref(), response);
    }
}

/// The operation a document runs under a given operation name, with its
/// type and name; None when the name selects none.
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(OperationType, Option<&'a Name>)> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some((op.node.ty, None)),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get_key_value(name).map(|(n, op)| (op.node.ty, Some(n)))
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(n, op)| (op.node.ty, Some(n)))
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Longest error message sent; parse errors quote the document.
pub const MAX_ERROR_MESSAGE: usize = 1000;

/// Keeps the first `MAX_ERRORS` errors, says how many were left out, and
/// cuts long messages.
pub fn cap_errors(errors: &mut Vec<ServerError>) {
    for error in errors.iter_mut() {
        if error.message.len() > MAX_ERROR_MESSAGE {
            let end = crate::text::prefix_within(&error.message, MAX_ERROR_MESSAGE).len();
            error.message.truncate(end);
            error.message.push('…');
        }
    }
    if errors.len() <= MAX_ERRORS {
        return;
    }
    let left_out = errors.len() - (MAX_ERRORS - 1);
    let code = errors[0]
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code").cloned());
    errors.truncate(MAX_ERRORS - 1);
    let mut last = ServerError::new(format!("{left_out} more errors left out"), None);
    if let Some(code) = code {
        let mut ext = ErrorExtensionValues::default();
        ext.set("code", code);
        last.extensions = Some(ext);
    }
    errors.push(last);
}

fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code);
    error.extensions = Some(ext);
    error
}

fn refusal(code: &str, message: impl Into<String>) -> ServerError {
    with_code(ServerError::new(message, None), code)
}

fn too_complex(message: impl Into<String>) -> ServerError {
    refusal("QUERY_TOO_COMPLEX", message)
}

fn bad_text() -> ServerError {
    refusal(
        "BAD_USER_INPUT",
        "strings may not contain NUL or control characters other than line feed and tab",
    )
}

fn text_ok(text: &str) -> bool {
    text.chars().all(allowed_in_multi_line)
}

/// Most values (list items and object fields counted one by one) in a
/// request's variables.
pub const MAX_VARIABLE_VALUES: u64 = 10_000;

fn check_variables(variables: &Variables) -> ServerResult<()> {
    let mut values = 0;
    for (name, value) in variables.iter() {
        if !text_ok(name) || !const_ok(value) {
            return Err(bad_text());
        }
        values += const_nodes(value);
    }
    if values > MAX_VARIABLE_VALUES {
        return Err(too_complex(format!(
            "the variables hold more than {MAX_VARIABLE_VALUES} values"
        )));
    }
    Ok(())
}

/// How many values a value is made of.
fn value_nodes(value: &Value) -> u64 {
    match value {
        Value::List(items) => 1 + items.iter().map(value_nodes).sum::<u64>(),
        Value::Object(fields) => 1 + fields.values().map(value_nodes).sum::<u64>(),
        _ => 1,
    }
}

fn const_nodes(value: &ConstValue) -> u64 {
    match value {
        ConstValue::List(items) => 1 + items.iter().map(const_nodes).sum::<u64>(),
        ConstValue::Object(fields) => 1 + fields.values().map(const_nodes).sum::<u64>(),
        _ => 1,
    }
}

/// A request error, as the specification has it, for a required variable
/// left out (checked where the document has one operation; the executor
/// reports it otherwise).
fn required_variables(document: &ExecutableDocument, variables: &Variables) -> ServerResult<()> {
    let DocumentOperations::Single(operation) = &document.operations else {
        return Ok(());
    };
    for variable in &operation.node.variable_definitions {
        let variable = &variable.node;
        let name = &variable.name.node;
        let given = variables.get(name).is_some_and(|v| *v != ConstValue::Null);
        if !variable.var_type.node.nullable && variable.default_value.is_none() && !given {
            return Err(refusal(
                "BAD_USER_INPUT",
                format!(
                    "variable ${name} of type {} is required",
                    variable.var_type.node
                ),
            ));
        }
    }
    Ok(())
}

fn const_ok(value: &ConstValue) -> bool {
    match value {
        ConstValue::String(s) => text_ok(s),
        ConstValue::List(items) => items.iter().all(const_ok),
        ConstValue::Object(fields) => fields.iter().all(|(k, v)| text_ok(k) && const_ok(v)),
        _ => true,
    }
}

fn value_ok(value: &Value) -> bool {
    match value {
        Value::String(s) => text_ok(s),
        Value::List(items) => items.iter().all(value_ok),
        Value::Object(fields) => fields.values().all(value_ok),
        _ => true,
    }
}

/// What a selection set costs once expanded.
#[derive(Clone, Copy, Default)]
struct Cost {
    fields: u64,
    depth: u64,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.fields = self.fields.saturating_add(other.fields);
        self.depth = self.depth.max(other.depth);
    }
}

enum Memo {
    Visiting,
    Done(Cost),
}

struct Walk<'a> {
    limits: DocumentLimits,
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    memo: HashMap<&'a str, Memo>,
    nodes: u64,
    /// Selection sets and fragments being walked, one inside the other.
    stack: u64,
}

/// Deepest nesting of selection sets and fragment spreads walked, so that a
/// long chain of fragments cannot exhaust the stack.
const MAX_STACK: u64 = 64;

impl DocumentLimits {
    pub fn check(&self, document: &ExecutableDocument) -> ServerResult<()> {
        let mut walk = Walk {
            limits: *self,
            fragments: &document.fragments,
            memo: HashMap::new(),
            nodes: 0,
            stack: 0,
        };
        let mut total = Cost::default();
        for (_, operation) in document.operations.iter() {
            let operation = &operation.node;
            walk.directives(&operation.directives)?;
            for variable in &operation.variable_definitions {
                walk.count(1)?;
                walk.directives(&variable.node.directives)?;
                if let Some(default) = &variable.node.default_value
                    && !const_ok(&default.node)
                {
                    return Err(bad_text());
                }
            }
            let cost = walk.selection_set(&operation.selection_set.node)?;
            walk.within(cost)?;
            // The executor validates every operation of the document, not
            // only the one it runs: the whole document is held to the limit.
            total.add(cost);
            walk.within(total)?;
        }
        // Fragments no operation uses are still validated: walk them too.
        for (name, fragment) in walk.fragments {
            if !walk.memo.contains_key(name.as_str()) {
                let cost = walk.fragment(name.as_str(), &fragment.node)?;
                total.add(cost);
                walk.within(total)?;
            }
        }
        Ok(())
    }
}

impl<'a> Walk<'a> {
    fn count(&mut self, nodes: u64) -> ServerResult<()> {
        self.nodes += nodes;
        if self.nodes > self.limits.nodes {
            return Err(too_complex(format!(
                "the document has more than {} nodes",
                self.limits.nodes
            )));
        }
        Ok(())
    }

    fn within(&self, cost: Cost) -> ServerResult<()> {
        if cost.fields > self.limits.fields {
            return Err(too_complex(format!(
                "an operation selects more than {} fields, fragments expanded",
                self.limits.fields
            )));
        }
        if cost.depth > self.limits.depth {
            return Err(too_complex(format!(
                "an operation nests deeper than {} levels, fragments expanded",
                self.limits.depth
            )));
        }
        Ok(())
    }

    fn directives(&mut self, directives: &[Positioned<Directive>]) -> ServerResult<()> {
        for directive in directives {
            self.count(1 + directive.node.arguments.len() as u64)?;
            if !directive
                .node
                .arguments
                .iter()
                .all(|(_, v)| value_ok(&v.node))
            {
                return Err(bad_text());
            }
        }
        Ok(())
    }

    fn selection_set(&mut self, set: &'a SelectionSet) -> ServerResult<Cost> {
        self.stack += 1;
        if self.stack > MAX_STACK {
            return Err(too_complex(format!(
                "selections and fragments nest deeper than {MAX_STACK} levels"
            )));
        }
        let cost = self.selections(set);
        self.stack -= 1;
        cost
    }

    fn selections(&mut self, set: &'a SelectionSet) -> ServerResult<Cost> {
        let mut cost = Cost::default();
        for selection in &set.items {
            self.count(1)?;
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    // Argument values are coerced again wherever the field
                    // is expanded: their size is part of its cost.
                    let values: u64 = field
                        .arguments
                        .iter()
                        .map(|(_, v)| value_nodes(&v.node))
                        .sum();
                    self.count(values)?;
                    if !field.arguments.iter().all(|(_, v)| value_ok(&v.node)) {
                        return Err(bad_text());
                    }
                    self.directives(&field.directives)?;
                    let inner = self.selection_set(&field.selection_set.node)?;
                    cost.add(Cost {
                        fields: inner.fields.saturating_add(1).saturating_add(values),
                        depth: inner.depth + 1,
                    });
                }
                // A spread counts as a field of its own, so that spreads of
                // fragments without fields cannot fan out for free.
                Selection::FragmentSpread(spread) => {
                    self.directives(&spread.node.directives)?;
                    let name = spread.node.fragment_name.node.as_str();
                    cost.add(Cost {
                        fields: 1,
                        depth: 0,
                    });
                    // An unknown fragment is the validator's to report.
                    if let Some((key, fragment)) = self.fragments.get_key_value(name) {
                        cost.add(self.fragment(key.as_str(), &fragment.node)?);
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.directives(&inline.node.directives)?;
                    let inner = self.selection_set(&inline.node.selection_set.node)?;
                    cost.add(Cost {
                        fields: inner.fields.saturating_add(1),
                        depth: inner.depth,
                    });
                }
            }
            self.within(cost)?;
        }
        Ok(cost)
    }

    fn fragment(&mut self, name: &'a str, fragment: &'a FragmentDefinition) -> ServerResult<Cost> {
        match self.memo.get(name) {
            Some(Memo::Done(cost)) => return Ok(*cost),
            Some(Memo::Visiting) => {
                return Err(refusal(
                    "BAD_USER_INPUT",
                    format!("fragment {name} spreads itself"),
                ));
            }
            None => {}
        }
        self.memo.insert(name, Memo::Visiting);
        self.directives(&fragment.directives)?;
        let cost = self.selection_set(&fragment.selection_set.node)?;
        self.memo.insert(name, Memo::Done(cost));
        Ok(cost)
    }
}

/// Gives every error in a response an `extensions.code`: errors raised before
/// any resolver ran (parse, validation, limits) carry none of their own.
pub fn ensure_codes(response: &mut async_graphql::Response) {
    cap_errors(&mut response.errors);
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if is_limit_error(&error.message) {
            "QUERY_TOO_COMPLEX"
        } else if error.path.is_empty() || is_input_error(&error.message) {
            "BAD_USER_INPUT"
        } else {
            "INTERNAL"
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
}

/// Errors the executor raises while coercing a field's arguments and
/// variables: the client sent a value of the wrong type or range, or left a
/// variable out. Resolvers' own errors always carry a code.
fn is_input_error(message: &str) -> bool {
    message.starts_with("Failed to parse ")
        || message.starts_with("Invalid value for argument")
        || (message.starts_with("Variable ") && message.ends_with(" is not defined."))
}

fn is_limit_error(message: &str) -> bool {
    message.starts_with("Query is too complex")
        || message.starts_with("Query is nested too deep")
        || message.starts_with("The number of directives")
        || message.contains("recursion")
}
