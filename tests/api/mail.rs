//! Mail over SMTP, to a small SMTP server of the test's own.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::helpers::*;

/// Accepts SMTP sessions and hands over each message's data.
async fn smtp_sink() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(std::mem::take(body)).await;
                            data = None;
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn invitations_go_out_over_smtp_when_configured() {
    let (port, received) = smtp_sink().await;
    let received = tokio::sync::Mutex::new(received);
    each_backend_with(
        move |config| config.smtp_url = Some(format!("smtp://127.0.0.1:{port}")),
        async |app| {
            let owner = app.sign_up("Mailer").await;
            let ws = app.create_workspace(&owner, "Mail Room").await;
            app.change_plan(&owner, &ws, "PRO").await;
            app.data(
                Some(&owner.token),
                "mutation($ws: ID!) { inviteMembers(input: {workspaceId: $ws, emails: [\"smtp@example.com\"]}) { results { outcome } } }",
                json!({ "ws": ws }),
            )
            .await;
            let mut received = received.lock().await;
            let message = tokio::time::timeout(Duration::from_secs(10), received.recv())
                .await
                .expect("a message arrives")
                .expect("message");
            assert!(message.contains("To: smtp@example.com"), "{message}");
            assert!(message.contains("Subject: Join Mail Room on Atrium"), "{message}");
            assert!(app.mails().is_empty(), "nothing written to MAIL_DIR");
        },
    )
    .await;
}
