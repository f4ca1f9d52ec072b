//! Orders every object of a response as its selection set does, as the
//! GraphQL specification requires. The executor resolves the fields of an
//! object concurrently and keeps them in the order they finish, so two
//! identical requests could answer with their keys in different orders;
//! clients and caches that compare responses depend on one order.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition, Selection,
    SelectionSet,
};
use async_graphql::{Name, Positioned, Response, Value};

fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|o| &o.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|o| &o.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

pub fn order_response(document: &ExecutableDocument, name: Option<&str>, response: &mut Response) {
    if let Some(operation) = operation(document, name) {
        let order = Order {
            fragments: &document.fragments,
            plans: RefCell::new(HashMap::new()),
        };
        order.value(&mut response.data, &[&operation.selection_set.node]);
    }
}

struct Order<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// The keys of each list of selection sets met, worked out once: the
    /// objects of a list share theirs.
    plans: RefCell<HashMap<Vec<*const SelectionSet>, Rc<Keys<'a>>>>,
}

/// The response keys a set of selection sets yields, in order, each with
/// the selection sets of its fields.
type Keys<'a> = Vec<(&'a str, Vec<&'a SelectionSet>)>;

impl<'a> Order<'a> {
    fn plan(&self, sets: &[&'a SelectionSet]) -> Rc<Keys<'a>> {
        let id: Vec<*const SelectionSet> = sets.iter().map(|s| *s as *const _).collect();
        if let Some(plan) = self.plans.borrow().get(&id) {
            return plan.clone();
        }
        let mut keys: Keys<'a> = Vec::new();
        let mut index: HashMap<&'a str, usize> = HashMap::new();
        let mut visiting = Vec::new();
        for set in sets {
            self.collect(set, &mut keys, &mut index, &mut visiting);
        }
        let plan = Rc::new(keys);
        self.plans.borrow_mut().insert(id, plan.clone());
        plan
    }

    fn value(&self, value: &mut Value, sets: &[&'a SelectionSet]) {
        match value {
            Value::List(items) => {
                for item in items {
                    self.value(item, sets);
                }
            }
            Value::Object(fields) => {
                let keys = self.plan(sets);
                // Most objects come in order already: then only their
                // values are looked into.
                let in_order = fields.len() == keys.len()
                    && fields
                        .keys()
                        .zip(keys.iter())
                        .all(|(have, (want, _))| have.as_str() == *want);
                if in_order {
                    for ((_, child), (_, subsets)) in fields.iter_mut().zip(keys.iter()) {
                        self.value(child, subsets);
                    }
                    return;
                }
                let mut rest = std::mem::take(fields);
                for (key, subsets) in keys.iter() {
                    if let Some((name, mut child)) = rest.swap_remove_entry(*key) {
                        self.value(&mut child, subsets);
                        fields.insert(name, child);
                    }
                }
                fields.extend(rest);
            }
            _ => {}
        }
    }

    fn collect(
        &self,
        set: &'a SelectionSet,
        keys: &mut Keys<'a>,
        index: &mut HashMap<&'a str, usize>,
        visiting: &mut Vec<&'a str>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let key = field.response_key().node.as_str();
                    let at = *index.entry(key).or_insert_with(|| {
                        keys.push((key, Vec::new()));
                        keys.len() - 1
                    });
                    keys[at].1.push(&field.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if visiting.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.fragments.get(name) {
                        visiting.push(name);
                        self.collect(&fragment.node.selection_set.node, keys, index, visiting);
                        visiting.pop();
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.collect(&inline.node.selection_set.node, keys, index, visiting);
                }
            }
        }
    }
}
