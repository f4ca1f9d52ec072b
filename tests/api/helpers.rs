//! The harness: `TestApp::spawn` makes a fresh database, migrates it, binds
//! port 0 and serves; `gql` speaks GraphQL as a client would.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use atrium::config::{Config, Secret};
use atrium::serve::Server;
use entity::enums::Role;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const TEST_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";
pub const PASSWORD: &str = "correct horse battery";

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

/// SQLite always; PostgreSQL as well when `TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var("TEST_DATABASE_URL")
        && !url.is_empty()
    {
        assert!(
            url.starts_with("postgres"),
            "TEST_DATABASE_URL must be a postgres:// URL"
        );
        all.push(Backend::Postgres(url));
    }
    all
}

/// Runs a test body once per backend, each time on a fresh server.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    each_backend_with(|_| {}, test).await;
}

/// Like `each_backend`, with settings changed before the server starts.
pub async fn each_backend_with<C, F, Fut>(configure: C, test: F)
where
    C: Fn(&mut Config),
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        let app = TestApp::spawn(backend, &configure).await;
        test(app).await;
    }
}

/// Where a test's database lives, so it can be removed afterwards.
enum Store {
    Sqlite,
    Postgres { admin_url: String, name: String },
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: atrium::AppState,
    pub backend: Backend,
    /// A directory of the test's own: the SQLite file and the mail.
    pub dir: PathBuf,
    pub database_url: String,
    client: reqwest::Client,
    store: Store,
    shutdown: Option<oneshot::Sender<()>>,
}

/// A signed-up user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub token: String,
    pub refresh_token: String,
    pub personal_workspace: String,
}

/// A workspace on the PRO plan with one user in each role, and an outsider.
pub struct Team {
    pub workspace: String,
    pub owner: TestUser,
    pub admin: TestUser,
    pub member: TestUser,
    pub viewer: TestUser,
    pub outsider: TestUser,
}

impl Team {
    /// The five callers in the order of the permission matrix columns.
    pub fn callers(&self) -> [(&'static str, &TestUser); 5] {
        [
            ("owner", &self.owner),
            ("admin", &self.admin),
            ("member", &self.member),
            ("viewer", &self.viewer),
            ("outsider", &self.outsider),
        ]
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend, configure: impl Fn(&mut Config)) -> Self {
        let unique = uuid::Uuid::now_v7().simple().to_string();
        let dir = std::env::temp_dir().join(format!("atrium-test-{unique}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (url, store) = match &backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}/atrium.db?mode=rwc", dir.display());
                (url, Store::Sqlite)
            }
            Backend::Postgres(admin_url) => {
                let name = format!("atrium_test_{unique}");
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .expect("PostgreSQL at TEST_DATABASE_URL must be reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .expect("database URL with a path");
                let url = format!("{base}/{name}");
                (
                    url,
                    Store::Postgres {
                        admin_url: admin_url.clone(),
                        name,
                    },
                )
            }
        };
        let mut app = TestApp {
            addr: ([127, 0, 0, 1], 0).into(),
            state: start_placeholder(),
            backend,
            dir,
            database_url: url,
            client: reqwest::Client::new(),
            store,
            shutdown: None,
        };
        app.start(configure).await;
        app
    }

    fn config(&self) -> Config {
        let mut config = Config::new(self.database_url.clone(), Secret::new(TEST_SECRET));
        config.bind_addr = "127.0.0.1:0".into();
        config.db_max_connections = 8;
        config.mail_dir = self.dir.join("mail");
        config.storage.url = format!("file://{}", self.dir.join("files").display());
        // The suite signs up hundreds of accounts from one address.
        config.sign_up_limit_per_hour = u32::MAX;
        config.sign_in_limit_per_minute = u32::MAX;
        config.rate_limit_per_minute = u32::MAX;
        config.workspace_rate_limit_per_minute = u32::MAX;
        config
    }

    /// Starts (or starts again) the server on the test's database.
    pub async fn start(&mut self, configure: impl Fn(&mut Config)) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let mut config = self.config();
        configure(&mut config);
        let server = Server::build(config).await.expect("server starts");
        self.addr = server.local_addr().expect("bound address");
        self.state = server.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        self.shutdown = Some(tx);
    }

    /// Another server on the same database; it stops when the sender drops.
    pub async fn second_server(&self) -> (SocketAddr, oneshot::Sender<()>) {
        self.second_server_with(|_| {}).await
    }

    /// Like `second_server`, with settings changed before it starts.
    pub async fn second_server_with(
        &self,
        configure: impl Fn(&mut Config),
    ) -> (SocketAddr, oneshot::Sender<()>) {
        let mut config = self.config();
        configure(&mut config);
        let server = Server::build(config).await.expect("second server starts");
        let addr = server.local_addr().expect("bound address");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        (addr, tx)
    }

    /// Like `gql`, against another server.
    pub async fn gql_at(
        &self,
        addr: SocketAddr,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .client
            .post(format!("http://{addr}/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON response")
    }

    /// The token of the newest invitation link mailed to an address; waits
    /// for the mail worker.
    #[allow(dead_code)]
    pub async fn mailed_token(&self, email: &str) -> String {
        for _ in 0..100 {
            if let Some(token) = self.find_mailed_token(email) {
                return token;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no invitation mailed to {email}");
    }

    /// Every `.eml` file written so far, as text (quoted-printable soft line
    /// breaks joined, as a mail reader shows it).
    pub fn mails(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.join("mail"))
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|m| m.replace("=\r\n", "").replace("=3D", "="))
            .collect()
    }

    fn find_mailed_token(&self, email: &str) -> Option<String> {
        self.mails()
            .iter()
            .rev()
            .filter(|m| m.contains(&format!("To: {email}")))
            .find_map(|m| {
                let (_, rest) = m.split_once("/invite/")?;
                Some(rest.chars().take_while(char::is_ascii_hexdigit).collect())
            })
    }

    /// What `/metrics` serves.
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The first column of every row a query returns, as text.
    pub async fn query_strings(&self, sql: &str) -> Vec<String> {
        let db = Database::connect(self.database_url.as_str()).await.unwrap();
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap();
        db.close().await.ok();
        rows.iter()
            .map(|row| row.try_get_by_index::<String>(0).unwrap())
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.client
    }

    /// Posts one operation and returns the whole JSON response.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        response.json().await.expect("JSON response")
    }

    /// Like `gql`, failing the test on any error; returns `data`.
    pub async fn data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self.gql(token, query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors on {:?}: {response}",
            self.backend
        );
        response["data"].clone()
    }

    pub async fn sign_up(&self, name: &str) -> TestUser {
        let email = format!(
            "{}-{}@example.com",
            name.to_lowercase(),
            uuid::Uuid::now_v7().simple()
        );
        let data = self
            .data(
                None,
                "mutation($input: SignUpInput!) { signUp(input: $input) {
                    accessToken refreshToken user { id email } } }",
                json!({ "input": { "email": email, "password": PASSWORD, "name": name } }),
            )
            .await;
        let token = data["signUp"]["accessToken"]
            .as_str()
            .expect("token")
            .to_owned();
        let workspaces = self
            .data(Some(&token), "{ workspaces { id } }", json!({}))
            .await;
        TestUser {
            id: data["signUp"]["user"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
            email: data["signUp"]["user"]["email"]
                .as_str()
                .expect("email")
                .to_owned(),
            token,
            refresh_token: data["signUp"]["refreshToken"]
                .as_str()
                .expect("refresh")
                .to_owned(),
            personal_workspace: workspaces["workspaces"][0]["id"]
                .as_str()
                .expect("personal workspace")
                .to_owned(),
        }
    }

    pub async fn create_workspace(&self, owner: &TestUser, name: &str) -> String {
        let data = self
            .data(
                Some(&owner.token),
                "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }",
                json!({ "input": { "name": name } }),
            )
            .await;
        data["createWorkspace"]["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    pub async fn change_plan(&self, user: &TestUser, workspace: &str, plan: &str) -> Value {
        self.gql(
            Some(&user.token),
            "mutation($id: ID!, $plan: Plan!) { changePlan(workspaceId: $id, plan: $plan) { plan } }",
            json!({ "id": workspace, "plan": plan }),
        )
        .await
    }

    pub async fn create_workroom(&self, user: &TestUser, workspace: &str, name: &str) -> Value {
        self.gql(
            Some(&user.token),
            "mutation($input: CreateWorkroomInput!) { createWorkroom(input: $input) { id name } }",
            json!({ "input": { "workspaceId": workspace, "name": name } }),
        )
        .await
    }

    /// Adds a user to a workspace through the membership domain function.
    pub async fn add_member(&self, workspace: &str, user: &TestUser, role: Role) {
        atrium::members::service::add_member(&self.state.db, workspace, &user.id, role)
            .await
            .expect("member added");
    }

    pub async fn team(&self) -> Team {
        let owner = self.sign_up("Owner").await;
        let workspace = self.create_workspace(&owner, "Team Space").await;
        assert_eq!(
            code(&self.change_plan(&owner, &workspace, "PRO").await),
            None
        );
        let admin = self.sign_up("Admin").await;
        let member = self.sign_up("Member").await;
        let viewer = self.sign_up("Viewer").await;
        let outsider = self.sign_up("Outsider").await;
        self.add_member(&workspace, &admin, Role::Admin).await;
        self.add_member(&workspace, &member, Role::Member).await;
        self.add_member(&workspace, &viewer, Role::Viewer).await;
        Team {
            workspace,
            owner,
            admin,
            member,
            viewer,
            outsider,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        match &self.store {
            Store::Sqlite => {}
            Store::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Dropped inside the test's runtime: do the async clean-up on
                // a thread of its own.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    runtime.block_on(async {
                        if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                            let _ = admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// The `extensions.code` of the first error, if any.
pub fn code(response: &Value) -> Option<String> {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// Fails unless the response has an error with this code.
#[track_caller]
pub fn assert_code(response: &Value, expected: &str) {
    assert_eq!(
        code(response).as_deref(),
        Some(expected),
        "expected {expected}: {response}"
    );
}

/// A state to fill the field until the server is built.
fn start_placeholder() -> atrium::AppState {
    let db = sea_orm::DatabaseConnection::default();
    let mut config = Config::new("sqlite::memory:", Secret::new(TEST_SECRET));
    config.storage.url = format!(
        "file://{}",
        std::env::temp_dir()
            .join("atrium-placeholder-files")
            .display()
    );
    atrium::AppState::new(db, config).expect("the placeholder state")
}
