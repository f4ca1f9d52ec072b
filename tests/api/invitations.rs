use std::time::Duration;

use entity::enums::Role;
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::*;

const INVITE: &str = "mutation($input: InviteMembersInput!) { inviteMembers(input: $input) {
    results { email outcome invitation { id email role status expiresAt invitedBy { id } } } } }";
const ACCEPT: &str = "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
    workspace { id name } member { role user { email name } access { area access } }
    session { accessToken refreshToken user { email } } } }";
const PREVIEW: &str = "query($t: String!) { invitation(token: $t) {
    workspaceName email role status expiresAt accountExists } }";
const SEATS: &str = "query($ws: ID!) { workspace(id: $ws) { seats { used pending limit } } }";

/// A workspace's `seats`, as its member `by` reads them.
async fn seats(app: &TestApp, by: &TestUser, ws: &str) -> Value {
    app.data(Some(&by.token), SEATS, json!({ "ws": ws })).await["workspace"]["seats"].clone()
}

async fn invite(app: &TestApp, by: &TestUser, ws: &str, emails: Value) -> Value {
    app.gql(
        Some(&by.token),
        INVITE,
        json!({ "input": { "workspaceId": ws, "emails": emails } }),
    )
    .await
}

fn outcomes(response: &Value) -> Vec<(String, String)> {
    response["data"]["inviteMembers"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn invite_parses_pasted_lists_and_reports_each_address() {
    each_backend(async |app| {
        let team = app.team().await;
        app.change_plan(&team.owner, &team.workspace, "GROWTH").await;
        let response = invite(
            &app,
            &team.admin,
            &team.workspace,
            json!([
                " Ann@Example.com, bob@example.com\ncarl@example.com ",
                "not-an-address",
                "ann@EXAMPLE.com",
                team.member.email.to_uppercase(),
            ]),
        )
        .await;
        assert_eq!(
            outcomes(&response),
            [
                ("ann@example.com".to_owned(), "INVITED".to_owned()),
                ("bob@example.com".to_owned(), "INVITED".to_owned()),
                ("carl@example.com".to_owned(), "INVITED".to_owned()),
                ("not-an-address".to_owned(), "INVALID_EMAIL".to_owned()),
                (team.member.email.clone(), "ALREADY_MEMBER".to_owned()),
            ]
        );
        let first = &response["data"]["inviteMembers"]["results"][0]["invitation"];
        assert_eq!(first["role"], "MEMBER");
        assert_eq!(first["status"], "PENDING");
        assert_eq!(first["invitedBy"]["id"], team.admin.id.as_str());

        let again = invite(&app, &team.owner, &team.workspace, json!(["bob@example.com"])).await;
        assert_eq!(outcomes(&again)[0].1, "ALREADY_INVITED");
        assert_eq!(
            again["data"]["inviteMembers"]["results"][0]["invitation"]["id"],
            response["data"]["inviteMembers"]["results"][1]["invitation"]["id"]
        );

        let seats = seats(&app, &team.owner, &team.workspace).await;
        assert_eq!(seats, json!({ "used": 4, "pending": 3, "limit": 15 }));

        // Each invitee got an e-mail with a working link.
        let token = app.mailed_token("carl@example.com").await;
        assert_eq!(token.len(), 64);
        let mail = app.mails().into_iter().find(|m| m.contains("To: carl@example.com")).unwrap();
        assert!(mail.contains(&format!("http://{}/invite/{token}", app.addr)), "{mail}");
        assert!(mail.contains("Subject: Join Team Space on Atrium"));
        let preview = app.data(None, PREVIEW, json!({ "t": token })).await;
        assert_eq!(
            preview["invitation"]["workspaceName"], "Team Space"
        );
        assert_eq!(preview["invitation"]["email"], "carl@example.com");
        assert_eq!(preview["invitation"]["accountExists"], false);

        // Events, and the invitations list.
        let listed = app
            .data(Some(&team.viewer.token), "query($ws: ID!) { workspace(id: $ws) { invitations(status: PENDING) { email } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(listed["workspace"]["invitations"].as_array().unwrap().len(), 3);
        let events = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"member.invited\"]}) { nodes { changes } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(events["workspace"]["activity"]["nodes"].as_array().unwrap().len(), 3);
    })
    .await;
}

#[tokio::test]
async fn invite_rules() {
    each_backend(async |app| {
        let team = app.team().await;
        app.change_plan(&team.owner, &team.workspace, "GROWTH").await;
        let as_member = invite(&app, &team.member, &team.workspace, json!(["x@example.com"])).await;
        assert_code(&as_member, "FORBIDDEN");
        let owner_role = app
            .gql(Some(&team.owner.token), INVITE, json!({ "input": { "workspaceId": team.workspace, "emails": ["x@example.com"], "role": "OWNER" } }))
            .await;
        assert_code(&owner_role, "BAD_USER_INPUT");
        let too_many: Vec<String> = (0..101).map(|i| format!("p{i}@example.com")).collect();
        assert_code(&invite(&app, &team.owner, &team.workspace, json!(too_many)).await, "BAD_USER_INPUT");
        assert_code(&invite(&app, &team.owner, &team.workspace, json!([" , \n"])).await, "BAD_USER_INPUT");

        // An admin invites admins but not above.
        let admin_invites_admin = app
            .gql(Some(&team.admin.token), INVITE, json!({ "input": { "workspaceId": team.workspace, "emails": ["adm@example.com"], "role": "ADMIN" } }))
            .await;
        assert_eq!(outcomes(&admin_invites_admin)[0].1, "INVITED");
        // A member with MEMBERS FULL cannot invite an admin.
        let members_full = "mutation($m: ID!) { setMemberAccess(input: {memberId: $m, areas: [{area: MEMBERS, access: FULL}]}) { id } }";
        let member_id = member_id(&app, &team, &team.member).await;
        app.data(Some(&team.owner.token), members_full, json!({ "m": member_id })).await;
        let above = app
            .gql(Some(&team.member.token), INVITE, json!({ "input": { "workspaceId": team.workspace, "emails": ["hi@example.com"], "role": "ADMIN" } }))
            .await;
        assert_code(&above, "FORBIDDEN");
        let same = invite(&app, &team.member, &team.workspace, json!(["peer@example.com"])).await;
        assert_eq!(outcomes(&same)[0].1, "INVITED");

        // A banned member's address is BANNED.
        let viewer_id = member_id_of(&app, &team, &team.viewer).await;
        app.data(Some(&team.owner.token), "mutation($m: ID!) { banMember(memberId: $m) { id } }", json!({ "m": viewer_id })).await;
        let banned = invite(&app, &team.owner, &team.workspace, json!([team.viewer.email])).await;
        assert_eq!(outcomes(&banned)[0].1, "BANNED");
    })
    .await;
}

pub async fn member_id_of(app: &TestApp, team: &Team, user: &TestUser) -> String {
    let data = app
        .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { members(first: 100) { nodes { id user { id } } } } }", json!({ "ws": team.workspace }))
        .await;
    data["workspace"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == user.id.as_str())
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .expect("member")
}

async fn member_id(app: &TestApp, team: &Team, user: &TestUser) -> String {
    member_id_of(app, team, user).await
}

#[tokio::test]
async fn a_batch_that_does_not_fit_is_refused_whole_and_mails_nothing() {
    each_backend(async |app| {
        let owner = app.sign_up("Small").await;
        let ws = app.create_workspace(&owner, "Small").await;
        app.change_plan(&owner, &ws, "STARTER").await;
        let refused = invite(&app, &owner, &ws, json!(["a@example.com", "b@example.com"])).await;
        assert_code(&refused, "SEAT_LIMIT_REACHED");
        let ext = &refused["errors"][0]["extensions"];
        assert_eq!(
            (
                ext["used"].clone(),
                ext["pending"].clone(),
                ext["limit"].clone(),
                ext["requested"].clone()
            ),
            (json!(1), json!(0), json!(2), json!(2))
        );
        let seats = seats(&app, &owner, &ws).await;
        assert_eq!(seats["pending"], 0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            app.mails().is_empty(),
            "a rolled-back invitation is never mailed"
        );
        let outbox = entity::mail_outbox::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(outbox, 0);
        // One fits.
        let one = invite(&app, &owner, &ws, json!(["a@example.com"])).await;
        assert_eq!(outcomes(&one)[0].1, "INVITED");
        // A plan cannot drop below seats in use, pending included.
        assert_code(
            &app.change_plan(&owner, &ws, "SOLO").await,
            "SEAT_LIMIT_REACHED",
        );
    })
    .await;
}

#[tokio::test]
async fn a_new_person_accepts_with_name_and_password_and_is_signed_in() {
    each_backend(async |app| {
        let team = app.team().await;
        invite(
            &app,
            &team.owner,
            &team.workspace,
            json!(["newbie@example.com"]),
        )
        .await;
        let token = app.mailed_token("newbie@example.com").await;
        let missing = app
            .gql(None, ACCEPT, json!({ "input": { "token": token } }))
            .await;
        assert_code(&missing, "BAD_USER_INPUT");
        let accepted = app
            .data(
                None,
                ACCEPT,
                json!({ "input": { "token": token, "name": "Newbie", "password": PASSWORD } }),
            )
            .await;
        let payload = &accepted["acceptInvitation"];
        assert_eq!(payload["workspace"]["id"], team.workspace.as_str());
        assert_eq!(payload["member"]["role"], "MEMBER");
        assert_eq!(payload["member"]["user"]["email"], "newbie@example.com");
        let session = payload["session"]["accessToken"].as_str().unwrap();
        let mine = app
            .data(
                Some(session),
                "{ me { email } workspaces { id } }",
                json!({}),
            )
            .await;
        assert_eq!(mine["me"]["email"], "newbie@example.com");
        assert_eq!(
            mine["workspaces"].as_array().unwrap().len(),
            2,
            "personal and the team's"
        );

        let seats = seats(&app, &team.owner, &team.workspace).await;
        assert_eq!(seats, json!({ "used": 5, "pending": 0, "limit": 5 }));
        let reuse = app
            .gql(
                Some(session),
                ACCEPT,
                json!({ "input": { "token": token } }),
            )
            .await;
        assert_code(&reuse, "CONFLICT");
        let preview = app.data(None, PREVIEW, json!({ "t": token })).await;
        assert_eq!(preview["invitation"]["status"], "ACCEPTED");
        assert_code(
            &app.gql(None, PREVIEW, json!({ "t": "0".repeat(64) })).await,
            "NOT_FOUND",
        );
    })
    .await;
}

#[tokio::test]
async fn existing_accounts_accept_signed_in_with_the_invited_address() {
    each_backend(async |app| {
        let team = app.team().await;
        let guest = app.sign_up("Guest").await;
        let other = app.sign_up("Other").await;
        app.change_plan(&team.owner, &team.workspace, "GROWTH").await;
        let response = app
            .gql(Some(&team.owner.token), INVITE, json!({ "input": { "workspaceId": team.workspace, "emails": [guest.email], "role": "VIEWER",
                "areas": [{ "area": "INTEGRATIONS", "access": "VIEW" }] } }))
            .await;
        assert_eq!(outcomes(&response)[0].1, "INVITED");
        let token = app.mailed_token(&guest.email).await;
        let preview = app.data(None, PREVIEW, json!({ "t": token })).await;
        assert_eq!(preview["invitation"]["accountExists"], true);

        let anonymous = app.gql(None, ACCEPT, json!({ "input": { "token": token, "name": "X", "password": PASSWORD } })).await;
        assert_code(&anonymous, "UNAUTHENTICATED");
        let mismatch = app.gql(Some(&other.token), ACCEPT, json!({ "input": { "token": token } })).await;
        assert_code(&mismatch, "EMAIL_MISMATCH");
        let accepted = app.data(Some(&guest.token), ACCEPT, json!({ "input": { "token": token } })).await;
        let payload = &accepted["acceptInvitation"];
        assert_eq!(payload["member"]["role"], "VIEWER");
        assert!(payload["session"].is_null());
        // The scopes of the invitation apply.
        let integrations = payload["member"]["access"].as_array().unwrap().iter().find(|a| a["area"] == "INTEGRATIONS").unwrap().clone();
        assert_eq!(integrations["access"], "VIEW");
    })
    .await;
}

#[tokio::test]
async fn resend_voids_the_old_link_and_revoke_voids_it_for_good() {
    each_backend(async |app| {
        let team = app.team().await;
        let response = invite(&app, &team.owner, &team.workspace, json!(["r@example.com"])).await;
        let id = response["data"]["inviteMembers"]["results"][0]["invitation"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let expires =
            response["data"]["inviteMembers"]["results"][0]["invitation"]["expiresAt"].clone();
        let old = app.mailed_token("r@example.com").await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let resent = app
            .data(
                Some(&team.admin.token),
                "mutation($id: ID!) { resendInvitation(id: $id) { status expiresAt } }",
                json!({ "id": id }),
            )
            .await;
        assert_ne!(
            resent["resendInvitation"]["expiresAt"], expires,
            "a fresh expiry"
        );
        let mut new = old.clone();
        for _ in 0..100 {
            new = app.mailed_token("r@example.com").await;
            if new != old {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_ne!(new, old);
        assert_code(
            &app.gql(None, PREVIEW, json!({ "t": old })).await,
            "NOT_FOUND",
        );
        app.data(None, PREVIEW, json!({ "t": new })).await;

        let revoked = app
            .data(
                Some(&team.admin.token),
                "mutation($id: ID!) { revokeInvitation(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(revoked["revokeInvitation"]["status"], "REVOKED");
        let accept = app
            .gql(
                None,
                ACCEPT,
                json!({ "input": { "token": new, "name": "R", "password": PASSWORD } }),
            )
            .await;
        assert_code(&accept, "INVITATION_REVOKED");
        let resend = app
            .gql(
                Some(&team.admin.token),
                "mutation($id: ID!) { resendInvitation(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_code(&resend, "CONFLICT");
        let seats = seats(&app, &team.owner, &team.workspace).await;
        assert_eq!(seats["pending"], 0);
        // A revoked address can be invited again.
        assert_eq!(
            outcomes(&invite(&app, &team.owner, &team.workspace, json!(["r@example.com"])).await)
                [0]
            .1,
            "INVITED"
        );
    })
    .await;
}

#[tokio::test]
async fn expired_invitations_show_free_their_seat_and_are_logged_once() {
    each_backend(async |app| {
        let team = app.team().await;
        invite(&app, &team.owner, &team.workspace, json!(["late@example.com"])).await;
        let token = app.mailed_token("late@example.com").await;
        app.state
            .db
            .execute_unprepared("UPDATE invitations SET expires_at = created_at")
            .await
            .unwrap();
        let listed = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { invitations { status } expired: invitations(status: EXPIRED) { email } seats { pending } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(listed["workspace"]["invitations"], json!([{ "status": "EXPIRED" }]));
        assert_eq!(listed["workspace"]["expired"], json!([{ "email": "late@example.com" }]));
        assert_eq!(listed["workspace"]["seats"]["pending"], 0);
        assert_eq!(app.data(None, PREVIEW, json!({ "t": token })).await["invitation"]["status"], "EXPIRED");

        let accept = app.gql(None, ACCEPT, json!({ "input": { "token": token, "name": "L", "password": PASSWORD } })).await;
        assert_code(&accept, "INVITATION_EXPIRED");
        // Never blocks a new invitation; the expiry is logged exactly once.
        let again = invite(&app, &team.owner, &team.workspace, json!(["late@example.com"])).await;
        assert_eq!(outcomes(&again)[0].1, "INVITED");
        atrium::invitations::service::sweep_all(&app.state.db).await.unwrap();
        let expired = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"invitation.expired\"]}) { nodes { actor { id } targetType } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(expired["workspace"]["activity"]["nodes"], json!([{ "actor": null, "targetType": "invitation" }]));
    })
    .await;
}

#[tokio::test]
async fn a_committed_invitation_is_mailed_even_if_the_process_stops_before_sending() {
    each_backend_with(
        |config| config.deliver_mail = false,
        async |app| {
            let mut app = app;
            let team = app.team().await;
            invite(
                &app,
                &team.owner,
                &team.workspace,
                json!(["durable@example.com"]),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(app.mails().is_empty());
            // A new process on the same database delivers what was committed.
            app.start(|_| {}).await;
            let token = app.mailed_token("durable@example.com").await;
            app.data(None, PREVIEW, json!({ "t": token })).await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invites_never_pass_the_seat_limit() {
    each_backend(async |app| {
        let team = app.team().await; // PRO: 5 seats, 4 used
        app.change_plan(&team.owner, &team.workspace, "GROWTH")
            .await; // 15 seats
        let invites = (0..20).map(|i| {
            let by = if i % 2 == 0 { &team.owner } else { &team.admin };
            invite(
                &app,
                by,
                &team.workspace,
                json!([format!("racer{i}@example.com")]),
            )
        });
        let responses = join_all(invites).await;
        let invited = responses.iter().filter(|r| code(r).is_none()).count();
        assert_eq!(invited, 11, "15 seats, 4 used");
        for refused in responses.iter().filter(|r| code(r).is_some()) {
            assert_code(refused, "SEAT_LIMIT_REACHED");
        }
        let seats = seats(&app, &team.owner, &team.workspace).await;
        assert_eq!(seats, json!({ "used": 4, "pending": 11, "limit": 15 }));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_accepts_hold_the_seats_and_use_a_link_once() {
    each_backend(async |app| {
        let team = app.team().await; // PRO: 5 seats, 4 used
        app.change_plan(&team.owner, &team.workspace, "GROWTH").await;
        let emails: Vec<String> = (0..11).map(|i| format!("acc{i}@example.com")).collect();
        let response = invite(&app, &team.owner, &team.workspace, json!(emails)).await;
        assert_eq!(code(&response), None);
        let mut tokens = Vec::new();
        for email in &emails {
            tokens.push(app.mailed_token(email).await);
        }
        let mut outsiders = Vec::new();
        for i in 0..9 {
            outsiders.push(app.sign_up(&format!("Direct{i}")).await);
        }
        // 20 accepts of one link: exactly one joins.
        let same = (0..20).map(|i| {
            app.gql(None, ACCEPT, json!({ "input": { "token": tokens[0], "name": format!("Dup{i}"), "password": PASSWORD } }))
        });
        let same = join_all(same).await;
        assert_eq!(same.iter().filter(|r| code(r).is_none()).count(), 1, "{same:?}");
        // The other 10 links accepted while 9 people are added directly:
        // the invitations hold their seats, the direct adds find none.
        let accepts = tokens[1..].iter().enumerate().map(|(i, t)| {
            app.gql(None, ACCEPT, json!({ "input": { "token": t, "name": format!("Acc{i}"), "password": PASSWORD } }))
        });
        let direct = outsiders.iter().map(|u| atrium::members::service::add_member(&app.state.db, &team.workspace, &u.id, Role::Member));
        let (accepted, added) = tokio::join!(join_all(accepts), join_all(direct));
        assert!(accepted.iter().all(|r| code(r).is_none()), "{accepted:?}");
        assert!(added.iter().all(|r| matches!(r, Err(atrium::AppError::SeatLimitReached { .. }))));
        let seats = seats(&app, &team.owner, &team.workspace).await;
        assert_eq!(seats, json!({ "used": 15, "pending": 0, "limit": 15 }));
    })
    .await;
}

/// Invitation e-mails per workspace and hour are bounded, also when invites
/// race; addresses that get no e-mail cost nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_mails_per_workspace_and_hour_are_bounded() {
    each_backend_with(
        |config| config.invitation_mails_per_hour = 6,
        async |app| {
            let team = app.team().await;
            app.change_plan(&team.owner, &team.workspace, "AGENCY")
                .await;
            let first = invite(
                &app,
                &team.owner,
                &team.workspace,
                json!(["a1@example.com", "a2@example.com", "not an address"]),
            )
            .await;
            assert_eq!(code(&first), None, "{first}");
            let id = first["data"]["inviteMembers"]["results"][0]["invitation"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            // A batch past the budget is refused whole.
            let over = invite(
                &app,
                &team.owner,
                &team.workspace,
                json!([
                    "b1@example.com",
                    "b2@example.com",
                    "b3@example.com",
                    "b4@example.com",
                    "b5@example.com"
                ]),
            )
            .await;
            assert_code(&over, "RATE_LIMITED");
            let seats = seats(&app, &team.owner, &team.workspace).await;
            assert_eq!(seats["pending"], 2);
            // Resends count; already invited addresses do not.
            let resend = "mutation($id: ID!) { resendInvitation(id: $id) { id } }";
            app.data(Some(&team.owner.token), resend, json!({ "id": id }))
                .await;
            let again = invite(
                &app,
                &team.owner,
                &team.workspace,
                json!(["a1@example.com"]),
            )
            .await;
            assert_eq!(
                outcomes(&again),
                [("a1@example.com".to_owned(), "ALREADY_INVITED".to_owned())]
            );
            // Three left, raced for by six.
            let racers = (0..6).map(|i| {
                invite(
                    &app,
                    &team.owner,
                    &team.workspace,
                    json!([format!("r{i}@example.com")]),
                )
            });
            let responses = join_all(racers).await;
            let sent = responses.iter().filter(|r| code(r).is_none()).count();
            assert_eq!(sent, 3);
            for refused in responses.iter().filter(|r| code(r).is_some()) {
                assert_code(refused, "RATE_LIMITED");
            }
            assert_code(
                &app.gql(Some(&team.owner.token), resend, json!({ "id": id }))
                    .await,
                "RATE_LIMITED",
            );
            // Another workspace has its own budget.
            let other = app.create_workspace(&team.owner, "Other Space").await;
            app.change_plan(&team.owner, &other, "AGENCY").await;
            let elsewhere = invite(&app, &team.owner, &other, json!(["a1@example.com"])).await;
            assert_eq!(code(&elsewhere), None, "{elsewhere}");
        },
    )
    .await;
}
