//! An OpenAI-compatible chat completions API, streamed (server-sent
//! events). Each piece of content costs `LLM_CREDITS_PER_CHUNK`. Errors
//! say what went wrong without the key or the provider's raw answer.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{Chunk, Chunks, Prompt, Provider, ProviderError};
use crate::config::Secret;

pub struct OpenAi {
    pub client: reqwest::Client,
    pub base_url: String,
    pub model: String,
    pub api_key: Option<Secret>,
    pub credits_per_chunk: i64,
    /// Longest wait for the next piece of the reply.
    pub idle_timeout: Duration,
}

fn system_prompt(prompt: &Prompt) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(instructions) = &prompt.instructions {
        parts.push(instructions.clone());
    }
    if let Some(style) = &prompt.style_memory {
        parts.push(format!("Write in this style (Style Memory): {style}"));
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

fn body(model: &str, prompt: &Prompt) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = system_prompt(prompt) {
        messages.push(json!({ "role": "system", "content": system }));
    }
    messages.push(json!({ "role": "user", "content": prompt.input }));
    json!({ "model": model, "stream": true, "messages": messages })
}

/// The content of one `data:` line of the stream; Err at `[DONE]`.
fn content_of(line: &str) -> Option<Result<String, ()>> {
    let data = line.strip_prefix("data:")?.trim();
    if data == "[DONE]" {
        return Some(Err(()));
    }
    let event: Value = serde_json::from_str(data).ok()?;
    let text = event["choices"][0]["delta"]["content"].as_str()?;
    (!text.is_empty()).then(|| Ok(text.to_owned()))
}

impl Provider for OpenAi {
    fn stream(&self, prompt: Prompt) -> Chunks {
        let key = prompt.api_key.clone().or_else(|| self.api_key.clone());
        let mut request = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .json(&body(&self.model, &prompt));
        if let Some(key) = &key {
            request = request.bearer_auth(key.expose());
        }
        let credits = self.credits_per_chunk;
        let idle = self.idle_timeout;
        let stream = async_stream(request, credits, idle);
        stream.boxed()
    }
}

fn fail(message: impl Into<String>) -> ProviderError {
    ProviderError(message.into())
}

/// The reply's pieces: the response's body read line by line.
fn async_stream(
    request: reqwest::RequestBuilder,
    credits: i64,
    idle: Duration,
) -> impl futures_util::Stream<Item = Result<Chunk, ProviderError>> + Send + 'static {
    enum State {
        Start(reqwest::RequestBuilder),
        Reading {
            body: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
            buffer: Vec<u8>,
            ready: std::collections::VecDeque<String>,
        },
        Done,
    }
    futures_util::stream::unfold(State::Start(request), move |state| async move {
        let mut state = state;
        loop {
            match state {
                State::Done => return None,
                State::Start(request) => {
                    let response = match tokio::time::timeout(idle, request.send()).await {
                        Err(_) => {
                            return Some((
                                Err(fail("the model provider did not answer in time")),
                                State::Done,
                            ));
                        }
                        Ok(Err(err)) => {
                            let reason = if err.is_connect() {
                                "could not be reached"
                            } else {
                                "failed"
                            };
                            return Some((
                                Err(fail(format!("the model provider {reason}"))),
                                State::Done,
                            ));
                        }
                        Ok(Ok(response)) => response,
                    };
                    let status = response.status();
                    if !status.is_success() {
                        let message = match status.as_u16() {
                            401 | 403 => "the model provider refused the API key".to_owned(),
                            429 => "the model provider is rate limiting this key".to_owned(),
                            code => format!("the model provider answered HTTP {code}"),
                        };
                        return Some((Err(fail(message)), State::Done));
                    }
                    state = State::Reading {
                        body: response
                            .bytes_stream()
                            .map(|part| part.map(|bytes| bytes.to_vec()))
                            .boxed(),
                        buffer: Vec::new(),
                        ready: Default::default(),
                    };
                }
                State::Reading {
                    mut body,
                    mut buffer,
                    mut ready,
                } => {
                    if let Some(text) = ready.pop_front() {
                        let chunk = Chunk { text, credits };
                        return Some((
                            Ok(chunk),
                            State::Reading {
                                body,
                                buffer,
                                ready,
                            },
                        ));
                    }
                    let next = match tokio::time::timeout(idle, body.next()).await {
                        Err(_) => {
                            return Some((
                                Err(fail("the model provider stopped sending")),
                                State::Done,
                            ));
                        }
                        Ok(next) => next,
                    };
                    match next {
                        None => return None,
                        Some(Err(_)) => {
                            return Some((
                                Err(fail("the model provider's stream broke off")),
                                State::Done,
                            ));
                        }
                        Some(Ok(bytes)) => {
                            buffer.extend_from_slice(&bytes);
                            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                                let line: Vec<u8> = buffer.drain(..=end).collect();
                                let line = String::from_utf8_lossy(&line);
                                match content_of(line.trim_end()) {
                                    Some(Ok(text)) => ready.push_back(text),
                                    Some(Err(())) => {
                                        if ready.is_empty() {
                                            return None;
                                        }
                                        body = futures_util::stream::empty().boxed();
                                        break;
                                    }
                                    None => {}
                                }
                            }
                            if buffer.len() > MAX_LINE_BYTES {
                                return Some((
                                    Err(fail("the model provider sent a line longer than 1 MiB")),
                                    State::Done,
                                ));
                            }
                            state = State::Reading {
                                body,
                                buffer,
                                ready,
                            };
                        }
                    }
                }
            }
        }
    })
}

/// The longest stream line kept while waiting for its end: a provider that
/// never sends a newline cannot grow the buffer without bound.
const MAX_LINE_BYTES: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::content_of;

    #[test]
    fn stream_lines_give_their_content() {
        assert_eq!(
            content_of(r#"data: {"choices":[{"delta":{"content":"Hi"}}]}"#),
            Some(Ok("Hi".into()))
        );
        assert_eq!(content_of("data: [DONE]"), Some(Err(())));
        assert_eq!(content_of(": keep-alive"), None);
        assert_eq!(
            content_of(r#"data: {"choices":[{"delta":{"role":"assistant"}}]}"#),
            None
        );
    }
}
