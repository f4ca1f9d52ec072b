//! Workspace images over the GraphQL multipart request spec: each kind
//! sniffed and served back publicly, non-images and cross-site posts
//! refused, sizes bounded; on a directory and on an S3-compatible store.

use base64::Engine;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::*;

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const JPEG: &str = "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=";
const WEBP: &str = "UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA";
const SET: &str = "mutation($ws: ID!, $kind: ImageKind!, $file: Upload!) { setWorkspaceImage(workspaceId: $ws, kind: $kind, file: $file) { logoUrl avatarUrl bannerUrl } }";

fn decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// A PNG header claiming `width` × `height` pixels.
fn png_of(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = decode(PNG);
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    bytes
}

/// Posts `SET` as a multipart request with `file` as the upload.
async fn upload(
    app: &TestApp,
    token: &str,
    ws: &str,
    kind: &str,
    file: &[u8],
    preflight: bool,
) -> (u16, Value) {
    let variables = json!({ "ws": ws, "kind": kind });
    multipart(app, Some(token), SET, variables, file, preflight).await
}

/// A 1×1 PNG.
pub fn tiny_png() -> Vec<u8> {
    decode(PNG)
}

/// Posts an operation as a GraphQL multipart request, `file` standing for
/// its `$file` variable.
pub async fn multipart(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    mut variables: Value,
    file: &[u8],
    preflight: bool,
) -> (u16, Value) {
    let boundary = "atrium-test-boundary-7d2f";
    variables["file"] = Value::Null;
    let operations = json!({ "query": query, "variables": variables });
    let mut body = Vec::new();
    for (name, value) in [
        ("operations", operations.to_string()),
        ("map", json!({ "0": ["variables.file"] }).to_string()),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"image.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut request = app
        .http()
        .post(app.url("/graphql"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if preflight {
        request = request.header("apollo-require-preflight", "true");
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn status_of(app: &TestApp, url: &str) -> u16 {
    app.http().get(url).send().await.unwrap().status().as_u16()
}

/// Uploads, serves and replaces each kind of image; returns the team and
/// the addresses of the images the workspace holds at the end.
async fn round_trip(app: &TestApp) -> (Team, Vec<String>) {
    let team = app.team().await;
    let ws = team.workspace.as_str();
    let mut urls = Vec::new();
    for (kind, field, bytes, media) in [
        ("LOGO", "logoUrl", decode(PNG), "image/png"),
        ("AVATAR", "avatarUrl", decode(JPEG), "image/jpeg"),
        ("BANNER", "bannerUrl", decode(WEBP), "image/webp"),
    ] {
        let (status, answer) = upload(app, &team.admin.token, ws, kind, &bytes, true).await;
        assert_eq!((status, code(&answer)), (200, None), "{kind}: {answer}");
        let url = answer["data"]["setWorkspaceImage"][field]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(url.contains("/files/"), "{url}");
        // Public: no Authorization; served as what it is, cached long.
        let served = app.http().get(&url).send().await.unwrap();
        assert_eq!(served.status().as_u16(), 200, "{url}");
        assert_eq!(served.headers()["content-type"], media);
        assert_eq!(
            served.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(served.headers()["x-content-type-options"], "nosniff");
        assert_eq!(served.bytes().await.unwrap().as_ref(), &bytes[..]);
        urls.push(url.clone());
        // An unguessable name: a guess next to it is 404.
        let guess = format!("{}0.png", &url[..url.len() - 68]);
        assert_eq!(
            app.http()
                .get(&guess)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            404,
            "{guess}"
        );
    }
    let read = app
        .data(
            Some(&team.viewer.token),
            "query($ws: ID!) { workspace(id: $ws) { logoUrl avatarUrl bannerUrl } }",
            json!({ "ws": ws }),
        )
        .await;
    assert!(
        read["workspace"]["bannerUrl"]
            .as_str()
            .unwrap()
            .ends_with(".webp")
    );

    // Dimensions are read from the file and recorded.
    let (_, answer) = upload(app, &team.owner.token, ws, "LOGO", &png_of(640, 480), true).await;
    assert_eq!(code(&answer), None, "{answer}");
    // The replaced logo is deleted from the store; the new one is served.
    let logo = answer["data"]["setWorkspaceImage"]["logoUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(status_of(app, &urls[0]).await, 404, "{}", urls[0]);
    assert_eq!(status_of(app, &logo).await, 200, "{logo}");
    urls[0] = logo;
    let feed = app
        .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"workspace.image_changed\"]}, first: 1) { nodes { changes } } } }", json!({ "ws": ws }))
        .await;
    let changes = &feed["workspace"]["activity"]["nodes"][0]["changes"];
    assert_eq!(
        (
            changes["width"]["after"].clone(),
            changes["height"]["after"].clone()
        ),
        (json!(640), json!(480))
    );
    assert_eq!(changes["contentType"]["after"], "image/png");
    assert!(
        changes["logoUrl"]["before"]
            .as_str()
            .unwrap()
            .ends_with(".png")
    );

    // Refused: what is not an image, whatever it is called; too many pixels;
    // a member without GENERAL FULL; an outsider.
    for refused in [
        b"hello, not an image".to_vec(),
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
        png_of(20_000, 10),
        png_of(0, 10),
    ] {
        let (status, answer) = upload(app, &team.owner.token, ws, "LOGO", &refused, true).await;
        assert_eq!(
            (status, code(&answer).as_deref()),
            (200, Some("BAD_USER_INPUT")),
            "{answer}"
        );
    }
    let (_, answer) = upload(app, &team.member.token, ws, "LOGO", &decode(PNG), true).await;
    assert_code(&answer, "FORBIDDEN");
    let (_, answer) = upload(app, &team.outsider.token, ws, "LOGO", &decode(PNG), true).await;
    assert_code(&answer, "NOT_FOUND");
    // A cross-site form cannot send the preflight header: refused outright.
    let (status, answer) = upload(app, &team.owner.token, ws, "LOGO", &decode(PNG), false).await;
    assert_eq!(status, 400);
    assert_code(&answer, "BAD_USER_INPUT");
    for url in &urls {
        assert_eq!(status_of(app, url).await, 200, "{url}");
    }
    (team, urls)
}

/// Deletes the team's workspace, ends its grace period and purges it: its
/// images are gone with its rows.
async fn purge(app: &TestApp, team: &Team, urls: &[String]) {
    app.data(
        Some(&team.owner.token),
        "mutation($ws: ID!) { deleteWorkspace(id: $ws, confirmName: \"Team Space\") { deletedAt } }",
        json!({ "ws": team.workspace }),
    )
    .await;
    app.state
        .db
        .execute_unprepared(
            "UPDATE workspaces SET purge_after = deleted_at WHERE deleted_at IS NOT NULL",
        )
        .await
        .unwrap();
    let purged = atrium::workspaces::service::purge_expired(&app.state.db, &app.state.storage)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    for url in urls {
        assert_eq!(status_of(app, url).await, 404, "{url}");
    }
}

#[tokio::test]
async fn each_kind_is_stored_and_served_and_what_is_not_an_image_is_refused() {
    each_backend(async |app| {
        let (team, urls) = round_trip(&app).await;
        purge(&app, &team, &urls).await;
    })
    .await;
}

#[tokio::test]
async fn uploads_are_bounded_by_their_own_limit() {
    each_backend_with(
        |c: &mut atrium::Config| c.upload_max_bytes = 4096,
        async |app| {
            let team = app.team().await;
            let mut big = png_of(10, 10);
            big.resize(5000, 0);
            let (status, answer) =
                upload(&app, &team.owner.token, &team.workspace, "LOGO", &big, true).await;
            assert_eq!(status, 413, "{answer}");
            assert_code(&answer, "PAYLOAD_TOO_LARGE");
            let mut fits = png_of(10, 10);
            fits.resize(4000, 0);
            let (status, answer) = upload(
                &app,
                &team.owner.token,
                &team.workspace,
                "LOGO",
                &fits,
                true,
            )
            .await;
            assert_eq!((status, code(&answer)), (200, None), "{answer}");
        },
    )
    .await;
}

/// A local S3-compatible server (moto), started for the test.
struct Moto(std::process::Child, String);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Moto(
        std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server (pip install 'moto[server]')"),
        String::new(),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .put(format!("{endpoint}/atrium-files"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            server.1 = endpoint;
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start");
}

#[tokio::test]
async fn images_live_in_an_s3_compatible_store_too() {
    let server = moto().await;
    let endpoint = server.1.clone();
    each_backend_with(
        move |c: &mut atrium::Config| {
            c.storage.url = "s3://atrium-files/workspaces".into();
            c.storage.s3_endpoint = Some(endpoint.clone());
            c.storage.s3_region = Some("us-east-1".into());
            c.storage.s3_access_key_id = Some("testing".into());
            c.storage.s3_secret_access_key = Some(atrium::config::Secret::new("testing"));
        },
        async |app| {
            let (team, urls) = round_trip(&app).await;
            // The objects are in the bucket, under the prefix: the three
            // images held, not the replaced one.
            let folder = format!("workspaces/{}/", team.workspace);
            let listing = async || {
                reqwest::get(format!(
                    "{}/atrium-files?list-type=2&prefix={folder}",
                    server.1
                ))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
            };
            let before = listing().await;
            assert_eq!(before.matches("<Key>").count(), 3, "{before}");
            purge(&app, &team, &urls).await;
            let after = listing().await;
            assert_eq!(after.matches("<Key>").count(), 0, "{after}");
        },
    )
    .await;
}

/// The operation of a multipart request is held to the JSON body's 1 MiB.
#[tokio::test]
async fn a_multipart_operation_larger_than_a_json_body_is_refused() {
    each_backend(async |app| {
        let team = app.team().await;
        let query = "mutation($ws: ID!, $file: Upload!, $pad: String) { setWorkspaceImage(workspaceId: $ws, kind: LOGO, file: $file) { logoUrl } }";
        let vars = json!({ "ws": team.workspace, "pad": "x".repeat(1_100_000) });
        let (status, answer) = multipart(&app, Some(&team.owner.token), query, vars, &tiny_png(), true).await;
        assert_eq!(status, 413, "{answer}");
        assert_code(&answer, "PAYLOAD_TOO_LARGE");
    })
    .await;
}
