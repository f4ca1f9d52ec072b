//! `schema.graphql` is generated from the code and must match it.

#[test]
fn schema_file_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let generated = atrium::graphql::sdl();
    if on_disk != generated {
        let first_difference = on_disk
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "at the end".to_owned(), |n| format!("at line {}", n + 1));
        panic!(
            "schema.graphql is stale (first difference {first_difference}).\n\
             Regenerate it with: cargo run -- schema > schema.graphql"
        );
    }
}

/// Every type, field, argument, input field and enum value of the public
/// contract (`../shared/contract.graphql` and every capability file under
/// `../shared/contract/`) is in the schema with the same type, and nothing
/// the schema adds is required of a client.
#[test]
fn schema_holds_every_name_of_the_contract() {
    let contract: String = [
        "contract.graphql",
        "contract/principals.graphql",
        "contract/work.graphql",
        "contract/library.graphql",
    ]
    .iter()
    .map(|file| {
        let path = format!("{}/../shared/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).expect("the contract beside the project")
    })
    .collect::<Vec<_>>()
    .join("\n");
    let contract = signatures(&contract);
    assert!(
        contract
            .names
            .contains("Mutation.rotateApiKey(graceHours: Int)")
    );
    assert!(
        contract
            .names
            .contains("Mutation.inviteMembers: InviteMembersPayload!")
    );
    let schema = signatures(&atrium::graphql::sdl());
    let missing: Vec<&String> = contract.names.difference(&schema.names).collect();
    assert!(missing.is_empty(), "the schema lacks {missing:#?}");
    let imposed: Vec<&String> = schema
        .required_extras
        .iter()
        .filter(|(owner, extra)| contract.names.contains(owner) && !contract.names.contains(extra))
        .map(|(_, extra)| extra)
        .collect();
    assert!(
        imposed.is_empty(),
        "the schema requires more than the contract: {imposed:#?}"
    );
    assert!(atrium::graphql::sdl().contains("directive @requires"));
}

struct Signatures {
    /// `Type`, `Type.field: T`, `Type.field(arg: T)`, `Input.field: T`,
    /// `Enum.VALUE`, `Union = A`.
    names: std::collections::HashSet<String>,
    /// Required arguments and input fields, each with the field or input
    /// type that carries it.
    required_extras: Vec<(String, String)>,
}

fn signatures(sdl: &str) -> Signatures {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(sdl).expect("valid SDL");
    let mut names = std::collections::HashSet::new();
    let mut required_extras = Vec::new();
    let mut required =
        |owner: String,
         name: String,
         value: &async_graphql::parser::types::InputValueDefinition| {
            if !value.ty.node.nullable && value.default_value.is_none() {
                required_extras.push((owner, name));
            }
        };
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = ty.node;
        let name = ty.name.node.to_string();
        names.insert(name.clone());
        match ty.kind {
            TypeKind::Object(object) => {
                for field in object.fields {
                    let field = field.node;
                    let at = format!("{name}.{}", field.name.node);
                    names.insert(format!("{at}: {}", field.ty.node));
                    for arg in field.arguments {
                        let arg = arg.node;
                        let signature = format!("{at}({}: {})", arg.name.node, arg.ty.node);
                        required(format!("{at}: {}", field.ty.node), signature.clone(), &arg);
                        names.insert(signature);
                    }
                }
            }
            TypeKind::Interface(interface) => {
                for field in interface.fields {
                    names.insert(format!(
                        "{name}.{}: {}",
                        field.node.name.node, field.node.ty.node
                    ));
                }
            }
            TypeKind::InputObject(input) => {
                for field in input.fields {
                    let field = field.node;
                    let signature = format!("{name}.{}: {}", field.name.node, field.ty.node);
                    required(name.clone(), signature.clone(), &field);
                    names.insert(signature);
                }
            }
            TypeKind::Enum(values) => {
                for value in values.values {
                    names.insert(format!("{name}.{}", value.node.value.node));
                }
            }
            TypeKind::Union(union) => {
                for member in union.members {
                    names.insert(format!("{name} = {}", member.node));
                }
            }
            TypeKind::Scalar => {}
        }
    }
    Signatures {
        names,
        required_extras,
    }
}

/// `schema.graphql` is a schema a GraphQL tool can build: every type it
/// names is defined, every directive it applies is declared with the
/// arguments it is given, enum arguments hold values of their enum, and
/// enum values read in declaration order.
#[test]
fn schema_file_is_valid_sdl_in_declaration_order() {
    use async_graphql::parser::types::{
        BaseType, ConstDirective, Type, TypeKind, TypeSystemDefinition,
    };
    use async_graphql::{Name, Positioned, Value};
    use std::collections::HashMap;

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let sdl = std::fs::read_to_string(path).expect("schema.graphql");
    let document = async_graphql::parser::parse_schema(&sdl).expect("parses as SDL");
    let mut types: HashMap<String, Option<Vec<String>>> =
        ["String", "Int", "Float", "Boolean", "ID"]
            .iter()
            .map(|s| (s.to_string(), None))
            .collect();
    let mut directives: HashMap<String, HashMap<String, String>> = HashMap::new();
    directives.insert(
        "deprecated".into(),
        HashMap::from([("reason".into(), "String".into())]),
    );
    let mut uses: Vec<(String, Positioned<ConstDirective>)> = Vec::new();
    let mut references: Vec<(String, Type)> = Vec::new();
    for definition in &document.definitions {
        match definition {
            TypeSystemDefinition::Type(ty) => {
                let ty = &ty.node;
                let name = ty.name.node.to_string();
                for d in &ty.directives {
                    uses.push((name.clone(), d.clone()));
                }
                let mut values = None;
                match &ty.kind {
                    TypeKind::Object(o) => {
                        for f in &o.fields {
                            let at = format!("{name}.{}", f.node.name.node);
                            references.push((at.clone(), f.node.ty.node.clone()));
                            for d in &f.node.directives {
                                uses.push((at.clone(), d.clone()));
                            }
                            for a in &f.node.arguments {
                                references.push((at.clone(), a.node.ty.node.clone()));
                            }
                        }
                    }
                    TypeKind::Interface(i) => {
                        for f in &i.fields {
                            references.push((name.clone(), f.node.ty.node.clone()));
                        }
                    }
                    TypeKind::InputObject(i) => {
                        for f in &i.fields {
                            references.push((name.clone(), f.node.ty.node.clone()));
                        }
                    }
                    TypeKind::Enum(e) => {
                        values = Some(
                            e.values
                                .iter()
                                .map(|v| v.node.value.node.to_string())
                                .collect(),
                        );
                    }
                    TypeKind::Union(_) | TypeKind::Scalar => {}
                }
                types.insert(name, values);
            }
            TypeSystemDefinition::Directive(d) => {
                let args = d
                    .node
                    .arguments
                    .iter()
                    .map(|a| {
                        (
                            a.node.name.node.to_string(),
                            a.node.ty.node.to_string().trim_end_matches('!').to_owned(),
                        )
                    })
                    .collect();
                directives.insert(d.node.name.node.to_string(), args);
            }
            TypeSystemDefinition::Schema(_) => {}
        }
    }
    fn base(ty: &Type) -> String {
        match &ty.base {
            BaseType::Named(name) => name.to_string(),
            BaseType::List(inner) => base(inner),
        }
    }
    for (at, ty) in &references {
        assert!(
            types.contains_key(&base(ty)),
            "{at} names undefined type {ty}"
        );
    }
    for (at, directive) in &uses {
        let name = directive.node.name.node.to_string();
        let declared = directives
            .get(&name)
            .unwrap_or_else(|| panic!("{at} applies undeclared @{name}"));
        for (arg, value) in &directive.node.arguments {
            let arg: &Name = &arg.node;
            let ty = declared
                .get(arg.as_str())
                .unwrap_or_else(|| panic!("{at}: @{name} has no argument {arg}"));
            if let (Value::Enum(v), Some(Some(values))) = (&value.node, types.get(ty)) {
                assert!(values.contains(&v.to_string()), "{at}: {v} is no {ty}");
            }
        }
    }
    assert_eq!(
        types["Access"],
        Some(vec!["NONE".into(), "VIEW".into(), "FULL".into()])
    );
    assert_eq!(
        types["Role"],
        Some(vec![
            "OWNER".into(),
            "ADMIN".into(),
            "MEMBER".into(),
            "VIEWER".into()
        ])
    );
    assert!(sdl.contains("scalar DateTime @specifiedBy(url:"));
}

/// Every type, field, argument, input field and enum value of the served
/// schema says what it is.
#[test]
fn everything_public_has_a_description() {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(atrium::graphql::sdl()).unwrap();
    let mut missing = Vec::new();
    let mut check = |described: bool, what: String| {
        if !described {
            missing.push(what);
        }
    };
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = ty.node;
        let name = ty.name.node.to_string();
        check(ty.description.is_some(), name.clone());
        match ty.kind {
            TypeKind::Object(object) => {
                for field in object.fields {
                    let field = field.node;
                    let at = format!("{name}.{}", field.name.node);
                    check(field.description.is_some(), at.clone());
                    for arg in field.arguments {
                        check(
                            arg.node.description.is_some(),
                            format!("{at}({})", arg.node.name.node),
                        );
                    }
                }
            }
            TypeKind::Interface(interface) => {
                for field in interface.fields {
                    let at = format!("{name}.{}", field.node.name.node);
                    check(field.node.description.is_some(), at);
                }
            }
            TypeKind::InputObject(input) => {
                for field in input.fields {
                    let at = format!("{name}.{}", field.node.name.node);
                    check(field.node.description.is_some(), at);
                }
            }
            TypeKind::Enum(values) => {
                for value in values.values {
                    let at = format!("{name}.{}", value.node.value.node);
                    check(value.node.description.is_some(), at);
                }
            }
            TypeKind::Union(_) | TypeKind::Scalar => {}
        }
    }
    assert!(missing.is_empty(), "without a description: {missing:#?}");
}

/// An object type without an `id` says it is a value object, so that client
/// caches know not to normalise it (connections, edges and payloads aside).
#[test]
fn objects_without_an_id_are_documented_as_value_objects() {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(atrium::graphql::sdl()).unwrap();
    let mut undocumented = Vec::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = ty.node;
        let name = ty.name.node.to_string();
        let TypeKind::Object(object) = &ty.kind else {
            continue;
        };
        let conventional = ["Query", "Mutation", "Subscription"].contains(&name.as_str())
            || ["Connection", "Edge", "Payload"]
                .iter()
                .any(|suffix| name.ends_with(suffix));
        let has_id = object.fields.iter().any(|f| f.node.name.node == "id");
        let says_so = ty
            .description
            .as_ref()
            .is_some_and(|d| d.node.contains("value object"));
        if !conventional && !has_id && !says_so {
            undocumented.push(name);
        }
    }
    assert_eq!(undocumented, Vec::<String>::new());
}
