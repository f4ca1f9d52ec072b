//! The `@requires` schema directive, written from the policy table.

use std::borrow::Cow;

use async_graphql::registry::{
    __DirectiveLocation, Deprecation, MetaDirective, MetaDirectiveInvocation, MetaInputValue,
    Registry, location_traits,
};
use async_graphql::{InputType, TypeDirective, Value, indexmap::IndexMap};

use super::{Capability, Requirement};

/// `@requires(capability:, area:, access:, role:)` on a guarded field.
#[allow(non_camel_case_types)]
pub struct requires;

impl requires {
    /// The directive for a field guarded by `capability`.
    pub fn apply(capability: Capability) -> MetaDirectiveInvocation {
        let mut args = IndexMap::new();
        args.insert("capability".to_owned(), Value::from(capability.name()));
        match capability.requirement() {
            Requirement::Member => {}
            Requirement::Area(area, access) => {
                args.insert("area".to_owned(), InputType::to_value(&area));
                args.insert("access".to_owned(), InputType::to_value(&access));
            }
            Requirement::Workroom(access) => {
                args.insert(
                    "area".to_owned(),
                    InputType::to_value(&super::Area::Projects),
                );
                args.insert("access".to_owned(), InputType::to_value(&access));
                args.insert("perWorkroom".to_owned(), Value::Boolean(true));
            }
            Requirement::Role(role) => {
                let role = super::Role::from(role);
                args.insert("role".to_owned(), InputType::to_value(&role));
            }
        }
        MetaDirectiveInvocation {
            name: "requires".to_owned(),
            args,
        }
    }
}

fn arg(name: &str, ty: &str, description: &str) -> (String, MetaInputValue) {
    (
        name.to_owned(),
        MetaInputValue {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            ty: ty.to_owned(),
            deprecation: Deprecation::NoDeprecated,
            default_value: None,
            visible: None,
            inaccessible: false,
            tags: Vec::new(),
            is_secret: false,
            directive_invocations: Vec::new(),
        },
    )
}

impl TypeDirective for requires {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("requires")
    }

    fn register(&self, registry: &mut Registry) {
        registry.add_directive(MetaDirective {
            name: "requires".to_owned(),
            description: Some(
                "What the caller's membership must allow for this field; without it the \
                 field fails with FORBIDDEN (or NOT_FOUND when the workspace itself is hidden)."
                    .to_owned(),
            ),
            locations: vec![__DirectiveLocation::FIELD_DEFINITION],
            args: IndexMap::from_iter([
                arg(
                    "capability",
                    "String!",
                    "The policy entry guarding the field.",
                ),
                arg("area", "Area", "The area the caller needs access to."),
                arg("access", "Access", "The least access needed to that area."),
                arg(
                    "perWorkroom",
                    "Boolean",
                    "True when the access is needed to the workroom in question (its own scopes, else the area's level).",
                ),
                arg(
                    "role",
                    "Role",
                    "The role needed, for role-bound operations.",
                ),
            ]),
            is_repeatable: false,
            visible: None,
            composable: None,
        });
    }
}

impl location_traits::Directive_At_FIELD_DEFINITION for requires {}
