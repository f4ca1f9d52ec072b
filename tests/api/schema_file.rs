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

#[test]
fn schema_has_the_contract_names_of_the_foundation() {
    let sdl = atrium::graphql::sdl();
    for name in [
        "me: User!",
        "workspaces: [Workspace!]!",
        "workspace(id: ID, slug: String): Workspace",
        "workroom(id: ID!): Workroom",
        "signUp(input: SignUpInput!): AuthPayload!",
        "logIn(input: LogInInput!): AuthPayload!",
        "refreshSession(refreshToken: String!): AuthPayload!",
        "logOut(refreshToken: String!): Boolean!",
        "createWorkspace(input: CreateWorkspaceInput!): Workspace!",
        "updateWorkspace(input: UpdateWorkspaceInput!): Workspace!",
        "changePlan(plan: Plan!, workspaceId: ID!): Workspace!",
        "createWorkroom(input: CreateWorkroomInput!): Workroom!",
        "updateWorkroom(input: UpdateWorkroomInput!): Workroom!",
        "viewerMember: Member",
        "members(after: String, first: Int): MemberConnection!",
        "activity(after: String, filter: ActivityFilter, first: Int): ActivityConnection!",
        "creditBalance: Int",
        "seats: Seats!",
        "scalar DateTime",
        "scalar JSON",
        "directive @requires",
    ] {
        assert!(sdl.contains(name), "schema lacks `{name}`");
    }
}
